"""Byte transports to the autopilot: UDP (in or out) and a serial port.

Kept apart from MAVLink parsing so a link that drops and returns is just a
transport that reads nothing for a while: the parser never sees half-open state.
Serial uses termios directly (no pyserial in the locked environment).
"""

from __future__ import annotations

import os
import select
import socket
import termios
import threading
import tty
from typing import Protocol

from gps_denied_onboard.components.c2_fc_link.errors import FcLinkConfigError, FcLinkTransportError

_BAUDS = {
    9600: termios.B9600,
    19200: termios.B19200,
    38400: termios.B38400,
    57600: termios.B57600,
    115200: termios.B115200,
    230400: termios.B230400,
}
for _rate in (460800, 500000, 576000, 921600, 1000000, 1500000, 2000000, 3000000):
    _const = getattr(termios, f"B{_rate}", None)
    if _const is not None:
        _BAUDS[_rate] = _const


class Transport(Protocol):
    """A bidirectional byte pipe."""

    def read(self, timeout_s: float) -> list[bytes]:
        """Chunks available within `timeout_s` (empty on timeout). A datagram
        transport returns one chunk per datagram (`framed`), so a parser can
        restart at each boundary and garbage cannot swallow the next datagram."""
        ...

    @property
    def framed(self) -> bool:
        ...

    def write(self, data: bytes) -> None:
        """Send `data`; raises OSError on failure."""
        ...

    def close(self) -> None:
        ...

    @property
    def description(self) -> str:
        ...


class UdpTransport:
    """UDP on one socket. `udpin` listens on HOST:PORT and replies to the last peer
    that sent a datagram; `udpout` sends to HOST:PORT from an ephemeral port."""

    def __init__(self, mode: str, host: str, port: int) -> None:
        if mode not in ("udpin", "udpout"):
            raise FcLinkConfigError(f"UDP mode must be udpin or udpout, got {mode!r}")
        self._mode = mode
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._lock = threading.Lock()
        try:
            if mode == "udpin":
                self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                self._sock.bind((host, port))
                self._peer: tuple[str, int] | None = None
            else:
                self._sock.bind(("127.0.0.1" if host in ("127.0.0.1", "localhost") else "0.0.0.0", 0))
                self._peer = (host, port)
        except OSError as exc:
            self._sock.close()
            raise FcLinkTransportError(exc.errno, f"cannot open UDP {mode}:{host}:{port}: {exc.strerror}") from exc
        self._sock.setblocking(False)

    @property
    def local_address(self) -> tuple[str, int]:
        host, port = self._sock.getsockname()[:2]
        return str(host), int(port)

    @property
    def peer(self) -> tuple[str, int] | None:
        return self._peer

    @property
    def description(self) -> str:
        host, port = self.local_address
        return f"{self._mode} local {host}:{port} peer {self._peer}"

    @property
    def framed(self) -> bool:
        return True

    def read(self, timeout_s: float) -> list[bytes]:
        ready, _, _ = select.select([self._sock], [], [], max(0.0, timeout_s))
        if not ready:
            return []
        chunks: list[bytes] = []
        while True:
            try:
                data, addr = self._sock.recvfrom(65535)
            except BlockingIOError:
                break
            except ConnectionRefusedError:
                # ICMP port unreachable from an earlier send: the peer is away; not fatal.
                break
            if self._mode == "udpin":
                self._peer = (str(addr[0]), int(addr[1]))
            chunks.append(data)
        return chunks

    def write(self, data: bytes) -> None:
        peer = self._peer
        if peer is None:
            return  # udpin before the autopilot spoke: nobody to send to yet
        with self._lock:
            try:
                self._sock.sendto(data, peer)
            except (BlockingIOError, ConnectionRefusedError):
                # A full buffer or an absent peer loses this datagram only; MAVLink is lossy by design.
                raise OSError("UDP datagram not sent (peer unreachable or buffer full)") from None

    def close(self) -> None:
        self._sock.close()


class SerialTransport:
    """A raw 8N1 serial port opened with termios."""

    def __init__(self, device: str, baud: int) -> None:
        if baud not in _BAUDS:
            raise FcLinkConfigError(f"unsupported baud rate {baud}; choose from {sorted(_BAUDS)}")
        self._device = device
        try:
            self._fd = os.open(device, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        except OSError as exc:
            raise FcLinkTransportError(exc.errno, f"cannot open serial port {device}: {exc.strerror}") from exc
        try:
            tty.setraw(self._fd)
            attrs = termios.tcgetattr(self._fd)
            attrs[4] = attrs[5] = _BAUDS[baud]
            attrs[2] &= ~(termios.CSTOPB | termios.PARENB | termios.CRTSCTS)
            attrs[2] |= termios.CLOCAL | termios.CREAD | termios.CS8
            termios.tcsetattr(self._fd, termios.TCSANOW, attrs)
        except termios.error as exc:
            os.close(self._fd)
            raise FcLinkTransportError(0, f"cannot configure serial port {device}: {exc}") from exc
        self._lock = threading.Lock()
        self._baud = baud

    @property
    def description(self) -> str:
        return f"serial {self._device} @ {self._baud}"

    @property
    def framed(self) -> bool:
        return False

    def read(self, timeout_s: float) -> list[bytes]:
        ready, _, _ = select.select([self._fd], [], [], max(0.0, timeout_s))
        if not ready:
            return []
        try:
            data = os.read(self._fd, 4096)
        except BlockingIOError:
            return []
        if not data:
            raise OSError("serial port closed (EOF)")
        return [data]

    def write(self, data: bytes) -> None:
        with self._lock:
            view = memoryview(data)
            while view:
                try:
                    written = os.write(self._fd, view)
                except BlockingIOError:
                    select.select([], [self._fd], [], 0.05)
                    continue
                view = view[written:]

    def close(self) -> None:
        os.close(self._fd)


def open_transport(url: str) -> UdpTransport | SerialTransport:
    """Open `udpin:HOST:PORT`, `udpout:HOST:PORT` or `serial:DEVICE:BAUD`."""
    scheme, _, rest = url.partition(":")
    if scheme in ("udpin", "udpout"):
        host, _, port_text = rest.rpartition(":")
        try:
            port = int(port_text)
        except ValueError:
            raise FcLinkConfigError(f"bad port in link URL {url!r}") from None
        if not host or not 0 <= port <= 65535 or (scheme == "udpout" and port == 0):
            raise FcLinkConfigError(f"bad host/port in link URL {url!r}")
        return UdpTransport(scheme, host, port)
    if scheme == "serial":
        device, _, baud_text = rest.rpartition(":")
        try:
            baud = int(baud_text)
        except ValueError:
            raise FcLinkConfigError(f"bad baud rate in link URL {url!r}") from None
        if not device:
            raise FcLinkConfigError(f"no device in link URL {url!r}")
        return SerialTransport(device, baud)
    raise FcLinkConfigError(f"link URL must be udpin:HOST:PORT, udpout:HOST:PORT or serial:DEV:BAUD, got {url!r}")
