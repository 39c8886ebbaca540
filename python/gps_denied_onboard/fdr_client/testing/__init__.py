"""Test doubles for the FDR client. Test code only: production code must not import
this package (tests/contract/test_no_fakes_in_production.py enforces it).

    from gps_denied_onboard.fdr_client.testing import FakeFdrSink, fake_fdr_sink, fake_fdr_registry

Import the fixtures into a test module or conftest.py to make them available.
"""

from gps_denied_onboard.fdr_client.testing.fake_sink import FakeFdrSink
from gps_denied_onboard.fdr_client.testing.fixtures import fake_fdr_registry, fake_fdr_sink

__all__ = ["FakeFdrSink", "fake_fdr_registry", "fake_fdr_sink"]
