#!/bin/sh
# Prints the version $ROLLGATE_HOST runs (empty when nothing is installed there).
# Every release lives in /srv/web/releases/<version>; /srv/web/current points at the live one.
set -eu
ssh -o BatchMode=yes "deploy@$ROLLGATE_HOST" 'readlink /srv/web/current 2>/dev/null | xargs -r basename'
