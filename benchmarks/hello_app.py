"""The baseline of the page benchmark: a bare Flask "hello" under the shop's own gunicorn settings."""

from flask import Flask


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def hello() -> str:
        return "hello"

    return app
