#!/bin/sh
# Puts back what $ROLLGATE_HOST ran before. rollgate says what that was:
#   ROLLGATE_PREVIOUS_STATE=version  -> $ROLLGATE_PREVIOUS_VERSION ran there: switch back to it
#   ROLLGATE_PREVIOUS_STATE=none     -> nothing ran there: stop and remove $ROLLGATE_VERSION
#   ROLLGATE_PREVIOUS_STATE=unknown  -> never guess: fail, so a person looks
set -eu
host="deploy@$ROLLGATE_HOST"
case "${ROLLGATE_PREVIOUS_STATE:-unknown}" in
  version)
    ssh -o BatchMode=yes "$host" "test -d '/srv/web/releases/$ROLLGATE_PREVIOUS_VERSION' && ln -sfn '/srv/web/releases/$ROLLGATE_PREVIOUS_VERSION' /srv/web/current.new && mv -T /srv/web/current.new /srv/web/current && sudo systemctl restart web.service"
    ;;
  none)
    ssh -o BatchMode=yes "$host" "sudo systemctl stop web.service; rm -rf /srv/web/current '/srv/web/releases/$ROLLGATE_VERSION'"
    ;;
  *)
    echo "$ROLLGATE_HOST: the version before $ROLLGATE_VERSION is unknown; not touching it" >&2
    exit 1
    ;;
esac
