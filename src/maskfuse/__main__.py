from maskfuse.cli import main

raise SystemExit(main())
