#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make demo: show the main job working, with its figures.  Boots the test VM
# and runs tests/scenarios/demo.sh inside it.
cd "$(dirname "$0")/.." || exit 1
exec tests/vm/run --timeout 600 -- tests/scenarios/demo.sh
