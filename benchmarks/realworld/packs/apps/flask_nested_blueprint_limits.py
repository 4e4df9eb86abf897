"""A notes API on Flask, rate limited per API key with Flask-Limiter on a nested blueprint.

The app groups its routes as blueprints nested under `/api` (Flask 2's nested blueprints): the
notes blueprint carries a limit of 5 requests per minute per key, registered on the blueprint
with `limiter.limit(...)(notes)`. The key is the `X-Api-Key` header (the client's address
without one).

    python flask_nested_blueprint_limits.py --port 8000
"""

from __future__ import annotations

from app_cli import arguments
from flask import Blueprint, Flask, jsonify, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

app = Flask(__name__)


def api_key() -> str:
    return request.headers.get("X-Api-Key") or get_remote_address()


limiter = Limiter(app, key_func=api_key)
api = Blueprint("api", __name__, url_prefix="/api")
notes = Blueprint("notes", __name__, url_prefix="/notes")
saved: list[dict[str, str]] = []


@notes.route("", methods=["POST"])
def add_note():
    body = request.get_json(silent=True) or {}
    text = str(body.get("text", "")).strip()
    if not text:
        return jsonify({"error": "text is required"}), 422
    saved.append({"text": text})
    return jsonify({"id": len(saved), "text": text}), 201


@app.route("/health")
def health():
    return jsonify({"ok": True})


limiter.limit("5 per minute")(notes)
api.register_blueprint(notes)
app.register_blueprint(api)


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    app.run(host="127.0.0.1", port=args.port, threaded=True)


if __name__ == "__main__":
    main()
