"""Client simulations, registered once per simulation id: POST /simulations."""

from __future__ import annotations

import time

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel

from .db import Database

router = APIRouter()


class SimulationStore:
    def __init__(self, db: Database):
        self._db = db

    def get(self, simulation_id: str) -> dict[str, str] | None:
        row = self._db.query_one(
            "SELECT simulation_id, client_id, status FROM simulations WHERE simulation_id = ?",
            (simulation_id,),
        )
        if row is None:
            return None
        return {"simulation_id": row[0], "client_id": row[1], "status": row[2]}

    def save(self, simulation_id: str, client_id: str, status: str) -> None:
        self._db.execute(
            "INSERT INTO simulations (simulation_id, client_id, status, created_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (simulation_id) DO UPDATE"
            " SET client_id = excluded.client_id, status = excluded.status",
            (simulation_id, client_id, status, time.time()),
        )

    def register_if_absent(self, simulation_id: str, client_id: str) -> bool:
        """Register a new simulation; False when one with that id already exists."""
        if self.get(simulation_id) is not None:
            return False
        self.save(simulation_id, client_id, "running")
        return True


class SimulationRequest(BaseModel):
    simulation_id: str
    client_id: str


@router.post("/simulations", status_code=201)
def start_simulation(body: SimulationRequest, request: Request) -> dict[str, str]:
    store: SimulationStore = request.app.state.shop.simulations
    if not store.register_if_absent(body.simulation_id, body.client_id):
        raise HTTPException(409, "simulation already running")
    return {"simulation_id": body.simulation_id, "status": "running"}


@router.get("/simulations/{simulation_id}")
def get_simulation(simulation_id: str, request: Request) -> dict[str, str]:
    found = request.app.state.shop.simulations.get(simulation_id)
    if found is None:
        raise HTTPException(404, "no such simulation")
    return found
