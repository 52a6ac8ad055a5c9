"""Clients for AWS or the embedded local AWS (``app.aws``)."""

from __future__ import annotations

import pytest

from app.aws import make_clients
from app.errors import AwsSetupError
from app.settings import Settings


@pytest.mark.parametrize(
    "endpoint",
    ["http://127.0.0.1:notaport", "http://127.0.0.1:99999", "http://127.0.0.1:-1"],
)
def test_make_clients_an_endpoint_with_a_bad_port_says_how_to_fix_it(endpoint: str) -> None:
    # Given an endpoint whose port is not a port number
    settings = Settings(environment="local", region="us-east-1")

    # When clients are made for it
    with pytest.raises(AwsSetupError) as raised:
        make_clients(settings, endpoint)

    # Then the error names the endpoint, the port as the problem, and the fix
    message = str(raised.value)
    assert endpoint in message, f"the error should name the endpoint: {message}"
    assert "invalid port" in message, f"the error should say the port is wrong: {message}"
    assert "AWS_ENDPOINT_URL=http://127.0.0.1:4566" in message, f"no fix given: {message}"


def test_make_clients_a_bad_port_in_the_environment_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given AWS_ENDPOINT_URL with a port that is not a number
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:notaport")

    # When clients are made from the environment
    # Then the project's error says what is wrong, rather than urllib's ValueError
    with pytest.raises(AwsSetupError, match="invalid port"):
        make_clients(Settings(environment="local", region="us-east-1"))


@pytest.mark.parametrize("endpoint", ["http://[::1", "http://:4566", "127.0.0.1:4566"])
def test_make_clients_an_endpoint_that_is_no_url_is_refused(endpoint: str) -> None:
    # Given an endpoint without a host, a scheme, or that does not parse
    settings = Settings(environment="local", region="us-east-1")

    # When clients are made for it
    # Then the error names it and says how to set it
    with pytest.raises(AwsSetupError, match=r"AWS_ENDPOINT_URL=http://127\.0\.0\.1:4566"):
        make_clients(settings, endpoint)


def test_make_clients_a_valid_endpoint_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a well-formed local endpoint, with and without a port
    settings = Settings(environment="local", region="us-east-1")

    # When clients are made for each
    with_port = make_clients(settings, "http://127.0.0.1:4566")
    default_port = make_clients(settings, "https://localhost")

    # Then every client is pointed at it
    assert with_port.kinesis.meta.endpoint_url == "http://127.0.0.1:4566", "port lost"
    assert default_port.sqs.meta.endpoint_url == "https://localhost", "endpoint not used"
