#!/bin/sh
# Installs $ROLLGATE_VERSION on $ROLLGATE_HOST and restarts the service. Idempotent: a host that
# already runs the version is left alone (a promotion must not restart the hosts under traffic).
# The release was built by an earlier CI job into ./build/$ROLLGATE_VERSION.
set -eu
host="deploy@$ROLLGATE_HOST"
release="/srv/web/releases/$ROLLGATE_VERSION"
running=$(ssh -o BatchMode=yes "$host" 'readlink /srv/web/current 2>/dev/null | xargs -r basename')
if [ "$running" = "$ROLLGATE_VERSION" ]; then
  echo "$ROLLGATE_HOST already runs $ROLLGATE_VERSION"
  exit 0
fi
rsync -a --delete "./build/$ROLLGATE_VERSION/" "$host:$release/"
# Switch the symlink atomically, then restart: systemd's unit runs /srv/web/current/bin/web.
ssh -o BatchMode=yes "$host" "ln -sfn '$release' /srv/web/current.new && mv -T /srv/web/current.new /srv/web/current && sudo systemctl restart web.service"
