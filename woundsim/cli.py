def main() -> None:
    raise SystemExit("woundsim: CLI not built yet")
