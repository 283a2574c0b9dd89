"""The `kedun` console command: Django's management commands plus Kedun's own."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kedun.config.settings")
    from kedun.config.env import ConfigError

    try:
        from django.core.management import execute_from_command_line

        execute_from_command_line(sys.argv)
    except ConfigError as error:
        # A malformed setting must stop start-up with a message that names it, not a traceback.
        print(f"kedun: configuration error: {error}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
