import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.config import AddressError, format_hostport, parse_hostport


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:7001", ("127.0.0.1", 7001)),
        ("localhost:0", ("localhost", 0)),
        ("0.0.0.0:65535", ("0.0.0.0", 65535)),
        ("node-1.example.com:80", ("node-1.example.com", 80)),
        ("[::1]:7001", ("::1", 7001)),
        ("[fe80::1%eth0]:8080", ("fe80::1%eth0", 8080)),
    ],
)
def test_parses_host_and_port(text: str, expected: tuple[str, int]) -> None:
    assert parse_hostport(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("127.0.0.1", "must be host:port"),
        (":7001", "must have a host before the ':'"),
        ("127.0.0.1:", "must have a port between 0 and 65535"),
        ("127.0.0.1:65536", "must have a port between 0 and 65535"),
        ("127.0.0.1:-1", "must have a port between 0 and 65535"),
        ("127.0.0.1:7oo1", "must have a port between 0 and 65535"),
        ("::1:7001", "must put an IPv6 host in brackets"),
        ("[::1:7001", "has an unclosed '['"),
        ("[::1]7001", "must have a port after the ']'"),
        ("[host]:7001", "must have an IPv6 address inside the brackets"),
        ("my host:7001", "is not a hostname or IP address"),
        ("x/y:1", "is not a hostname or IP address"),
        ("http://x:1", "without a scheme"),
    ],
)
def test_rejects_malformed_addresses_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(AddressError) as caught:
        parse_hostport(text)
    assert reason in caught.value.reason
    assert repr(text) in str(caught.value)


def test_rejects_non_strings() -> None:
    with pytest.raises(AddressError, match="must be a string"):
        parse_hostport(7001)  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(
    host=st.one_of(
        st.from_regex(r"[a-z0-9]([a-z0-9.-]{0,20}[a-z0-9])?", fullmatch=True),
        st.ip_addresses().map(str),
    ),
    port=st.integers(0, 65535),
)
def test_format_and_parse_are_inverse(host: str, port: int) -> None:
    assert parse_hostport(format_hostport(host, port)) == (host, port)
