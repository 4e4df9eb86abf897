from __future__ import annotations

from fastapi.testclient import TestClient

from shopapp.config import Settings


def test_liveness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_ticket_can_be_issued_and_consumed_once(client: TestClient) -> None:
    ticket = client.post("/tickets", json={"user_id": "u1"}).json()["ticket"]
    assert client.post(f"/tickets/{ticket}/consume").status_code == 200


def test_ticket_cap_in_sequence(client: TestClient) -> None:
    codes = [client.post("/tickets", json={"user_id": "u2"}).status_code for _ in range(7)]
    assert codes == [201] * 5 + [429] * 2


def test_export_download(client: TestClient, settings: Settings) -> None:
    assert settings.export_dir is not None
    (settings.export_dir / "report.csv").write_text("a,b\n1,2\n")
    response = client.get("/exports/report.csv")
    assert response.status_code == 200
    assert response.text == "a,b\n1,2\n"
    assert client.get("/exports/missing.csv").status_code == 404


def test_simulation_registered_once_in_sequence(client: TestClient) -> None:
    body = {"simulation_id": "sim-1", "client_id": "c1"}
    assert client.post("/simulations", json=body).status_code == 201
    assert client.get("/simulations/sim-1").json()["status"] == "running"


def test_metrics_are_plain_text(client: TestClient) -> None:
    assert "shopapp_requests_total" in client.get("/metrics").text
