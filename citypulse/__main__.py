"""``python -m citypulse``: the ``citypulse`` command."""

from citypulse.cli import entrypoint

if __name__ == "__main__":
    entrypoint()
