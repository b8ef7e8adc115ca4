"""Remove the folders a service without alerts leaves empty.

Cookiecutter skips a file whose name renders empty, but not a folder: a folder whose name
renders empty is the project folder itself, which already exists, and generation fails
(cookiecutter/generate.py, ``render_and_create_dir``). So monitoring/ and docs/alerts/ always
exist, their files render only with alerting, and this hook removes them when empty.
Backstage's fetch:cookiecutter runs no hooks; Git records no empty folder, so the repository it
publishes has none either.
"""

from pathlib import Path

FOLDERS = ("monitoring", "docs/alerts")


def main() -> None:
    for folder in FOLDERS:
        path = Path(folder)
        if path.is_dir() and not any(path.iterdir()):
            path.rmdir()


if __name__ == "__main__":
    main()
