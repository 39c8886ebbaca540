"""Flight datasets (DESIGN §5, `gdn-flight/1`) and the localizer's estimate files.

Cross-cutting: read by the airborne replay, written by the simulator (C12),
scored by the benchmark. Depends on the core only, never on a component.
"""

from gps_denied_onboard.dataset.errors import (
    CsvFormatError,
    DatasetError,
    ImageDecodeError,
    MissingStreamError,
    PhotoMetadataError,
    UnknownFormatError,
    UnsortedTimestampsError,
    YamlFormatError,
)
from gps_denied_onboard.dataset.estimates import (
    FIXES_CSV,
    TIMING_CSV,
    TRACK_CSV,
    Estimates,
    EstimateWriter,
    Fixes,
    FixRow,
    Timing,
    TimingRow,
    Track,
    TrackRow,
    read_estimates,
    read_fixes,
    read_timing,
    read_track,
    write_fixes_csv,
    write_timing_csv,
    write_track_csv,
)
from gps_denied_onboard.dataset.flight import (
    VEHICLES,
    FlightDataset,
    FlightMeta,
    Frame,
    read_flight,
    validate_flight,
)
from gps_denied_onboard.dataset.layout import FORMAT_VERSION
from gps_denied_onboard.dataset.timeseries import TimeSeries
from gps_denied_onboard.dataset.writer import FlightWriter, write_flight

__all__ = [
    "FIXES_CSV",
    "FORMAT_VERSION",
    "TIMING_CSV",
    "TRACK_CSV",
    "VEHICLES",
    "CsvFormatError",
    "DatasetError",
    "EstimateWriter",
    "Estimates",
    "FixRow",
    "Fixes",
    "FlightDataset",
    "FlightMeta",
    "FlightWriter",
    "Frame",
    "ImageDecodeError",
    "MissingStreamError",
    "PhotoMetadataError",
    "TimeSeries",
    "Timing",
    "TimingRow",
    "Track",
    "TrackRow",
    "UnknownFormatError",
    "UnsortedTimestampsError",
    "YamlFormatError",
    "read_estimates",
    "read_fixes",
    "read_flight",
    "read_timing",
    "read_track",
    "validate_flight",
    "write_fixes_csv",
    "write_flight",
    "write_timing_csv",
    "write_track_csv",
]
