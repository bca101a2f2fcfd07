from arcus_tui.cli import main

raise SystemExit(main())
