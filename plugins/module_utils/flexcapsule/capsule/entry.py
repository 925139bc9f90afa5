"""The `capsule` command's entry: the migration pipe skips the CLI's imports, since xl starts one per migration."""
import sys


def run(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["transport"]:
        from .transport import main as transport_main
        return transport_main(argv[1:])
    from .cli import main
    return main(argv)
