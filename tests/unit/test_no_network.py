"""The unit suite itself: sockets are off."""

from __future__ import annotations

import socket

import pytest
from pytest_socket import SocketBlockedError


@pytest.mark.filterwarnings("ignore:A test tried to use socket.socket")
def test_a_unit_test_cannot_open_an_internet_socket():
    # Given the unit suite's autouse guard
    # When a test tries to open a TCP socket
    # Then the guard refuses it
    with pytest.raises(SocketBlockedError):
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)
