"""The ZooKeeper side of arcus-tui (kazoo; never imports Textual).

- `paths`: the ARCUS znode layout (/arcus, /arcus_repl).
- `session`: `RegistrySession`, the one door for reads and writes; read-only is enforced there.
- `registry`: init / register / unregister, one transaction each, idempotent.
- `status`: online / offline / undefined and OK / SOME_DOWN / DOWN per service, `list_all`.
- `fourletter`: `srvr` / `ruok` / `mntr` and `wait_for_quorum` over the client port.
- `tree`: lazy node reader and watches handed to an asyncio loop, for the browser.
"""
