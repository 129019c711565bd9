#!/usr/bin/env bash
# A real MediaWiki 1.39 (Debian's package) on SQLite, served by PHP's
# built-in server on 127.0.0.1, for oai-mirror's tests.
#
#   mediawiki.sh install            install the packages (root; once per machine)
#   mediawiki.sh start DIR PORT     create the wiki in DIR if new, start it if stopped
#   mediawiki.sh stop DIR           stop it
#   mediawiki.sh php DIR SCRIPT ARGS…  run a maintenance script (importDump.php,
#                                   deleteBatch.php …) on the wiki in DIR
#
# Every wiki has two users with bot passwords (each 32+ characters):
#   Harvestbot@mirror  (groups bot, sysop)   the account the mirror uses
#   Otheruser@mirror   (no groups)           a second person: conflicts, and
#                      an account without the bot, delete and suppressredirect rights
#   Harvestbot@importer                      the same bot with the `import` grant
#                      too: a sync that replays revisions through the API's import
#   Harvestbot@uploader                      the bot with the upload grants
# DIR/credentials.env holds the URLs and passwords (shell syntax).
#
# Facts this relies on (MediaWiki 1.39.x on Debian bookworm):
# * `mediawiki` depends on "apache2 | httpd" and PHP on a SAPI package; a
#   one-file dummy package providing httpd plus php8.2-cgi keeps Apache out.
# * PHP resolves symlinks in __DIR__, so the server and maintenance scripts
#   need MW_INSTALL_PATH and MW_CONFIG_FILE to find the instance's files.
# * Cookies are not separated by port: each instance needs its own cookie prefix.
# * Server-side merges on edit conflicts need /usr/bin/diff3 (diffutils).
set -euo pipefail

MWSRC=/usr/share/mediawiki
REPO=$(cd "$(dirname "$0")/../.." && pwd -P)
BOT_SECRET=testbedbotpasswordsecret00000000
OTHER_SECRET=otheruserbotpasswordsecret000000
IMPORT_SECRET=testbedimporterpasswordsecret000
UPLOAD_SECRET=testbeduploaderpasswordsecret000

say() { printf '[mediawiki.sh] %s\n' "$*" >&2; }

installed() {
  [ -f "$MWSRC/maintenance/install.php" ] && command -v php >/dev/null && command -v diff3 >/dev/null &&
    php -m 2>/dev/null | grep -qix pdo_sqlite && php -m 2>/dev/null | grep -qix intl
}

install_packages() {
  installed && return 0
  [ "$(id -u)" = 0 ] || { say "MediaWiki is not installed and this is not root: see README ('Tests that need MediaWiki')"; exit 1; }
  export DEBIAN_FRONTEND=noninteractive
  local tmp; tmp=$(mktemp -d)
  if ! dpkg -s apache2 >/dev/null 2>&1 && ! dpkg -s oai-mirror-no-httpd >/dev/null 2>&1; then
    mkdir -p "$tmp/pkg/DEBIAN"
    printf '%s\n' 'Package: oai-mirror-no-httpd' 'Version: 1.0' 'Architecture: all' \
      'Maintainer: oai-mirror tests <root@localhost>' 'Provides: httpd' \
      'Description: stands in for a web server; the tests use php -S' >"$tmp/pkg/DEBIAN/control"
    dpkg-deb --build "$tmp/pkg" "$tmp/no-httpd.deb" >/dev/null
    dpkg -i "$tmp/no-httpd.deb" >/dev/null
  fi
  local policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; policy=1; fi
  apt-cache show mediawiki >/dev/null 2>&1 || apt-get update -qq
  say "installing mediawiki and PHP (about a minute)"
  apt-get install -y -qq --no-install-recommends mediawiki php-cli php8.2-cgi php-sqlite3 php-intl \
    php-mbstring php-xml php-curl php-apcu diffutils curl >"$tmp/apt.log" 2>&1 || { tail -30 "$tmp/apt.log" >&2; exit 1; }
  [ $policy = 1 ] && rm -f /usr/sbin/policy-rc.d
  rm -rf "$tmp"
}

answers() { curl -fsS --max-time 5 "http://127.0.0.1:$2/w/api.php?action=query&meta=siteinfo&format=json" 2>/dev/null | grep -q sitename; }

start() {
  local dir=$1 port=$2
  installed || install_packages
  mkdir -p "$dir"; dir=$(cd "$dir" && pwd -P)
  export MW_INSTALL_PATH="$dir/w" MW_CONFIG_FILE="$dir/w/LocalSettings.php"
  if [ ! -f "$dir/w/LocalSettings.php" ]; then
    say "creating a wiki in $dir"
    mkdir -p "$dir/w/extensions" "$dir/w/images" "$dir/w/cache" "$dir/data" "$dir/logs"
    for f in "$MWSRC"/*; do
      case "$(basename "$f")" in LocalSettings.php|extensions|images|cache|config) ;; *) ln -sfn "$f" "$dir/w/$(basename "$f")" ;; esac
    done
    for e in "$MWSRC"/extensions-core/*; do ln -sfn "$e" "$dir/w/extensions/$(basename "$e")"; done
    php "$dir/w/maintenance/install.php" --server "http://127.0.0.1:$port" --scriptpath /w \
      --dbtype sqlite --dbpath "$dir/data" --dbname "${MW_DBNAME:-wiki}" --lang en \
      --pass adminpass-testbed-1 --skins Vector --confpath "$dir/w" \
      "${MW_SITENAME:-Testwiki}" Admin >"$dir/logs/install.log" 2>&1 || { tail -20 "$dir/logs/install.log" >&2; exit 1; }
    printf '\nrequire_once __DIR__ . "/LocalSettings.tests.php";\n' >>"$dir/w/LocalSettings.php"
    write_settings "$dir" "$port"
    php "$dir/w/maintenance/createAndPromote.php" --bot --sysop Harvestbot botpass-testbed-1 >>"$dir/logs/install.log" 2>&1
    php "$dir/w/maintenance/createAndPromote.php" Otheruser otherpass-testbed-1 >>"$dir/logs/install.log" 2>&1
    local grants=basic,highvolume,editpage,editprotected,createeditmovepage,delete,protect,patrol,rollback
    php "$dir/w/maintenance/createBotPassword.php" --appid mirror --grants "$grants" Harvestbot "$BOT_SECRET" >>"$dir/logs/install.log" 2>&1
    php "$dir/w/maintenance/createBotPassword.php" --appid mirror --grants "$grants" Otheruser "$OTHER_SECRET" >>"$dir/logs/install.log" 2>&1
  fi
  write_settings "$dir" "$port"
  # The wiki's mail: PHP runs sendmail_path with arguments; each mail is a file.
  mkdir -p "$dir/mail"
  printf '#!/bin/sh\nexec cat > "$(mktemp "%s/mail/XXXXXXXX.eml")"\n' "$dir" >"$dir/sendmail"
  chmod +x "$dir/sendmail"
  # A bot password may import only with the grant (sysop has the rights).
  if [ ! -f "$dir/.importer" ]; then
    maintenance "$dir" createBotPassword.php --appid importer \
      --grants basic,highvolume,editpage,editprotected,createeditmovepage,delete,import Harvestbot "$IMPORT_SECRET" >>"$dir/logs/install.log" 2>&1
    touch "$dir/.importer"
  fi
  if [ ! -f "$dir/.uploader" ]; then
    maintenance "$dir" createBotPassword.php --appid uploader \
      --grants basic,highvolume,editpage,createeditmovepage,uploadfile,uploadeditmovefile Harvestbot "$UPLOAD_SECRET" >>"$dir/logs/install.log" 2>&1
    touch "$dir/.uploader"
  fi
  if [ ! -f "$dir/.emails" ]; then
    for u in Harvestbot Otheruser; do
      maintenance "$dir" resetUserEmail.php --no-reset-password "$u" "$(echo "$u" | tr A-Z a-z)@testbed.example" >>"$dir/logs/install.log" 2>&1
    done
    touch "$dir/.emails"
  fi
  cat >"$dir/credentials.env" <<EOF
MW_API=http://127.0.0.1:$port/w/api.php
MW_BOT_USER=Harvestbot@mirror
MW_BOT_PASSWORD=$BOT_SECRET
MW_OTHER_USER=Otheruser@mirror
MW_OTHER_PASSWORD=$OTHER_SECRET
MW_IMPORT_USER=Harvestbot@importer
MW_IMPORT_PASSWORD=$IMPORT_SECRET
MW_UPLOAD_USER=Harvestbot@uploader
MW_UPLOAD_PASSWORD=$UPLOAD_SECRET
EOF
  # Ours and running: done. Something else on the port: refuse, rather than
  # test against another wiki.
  if [ -f "$dir/server.pid" ] && kill -0 "$(cat "$dir/server.pid")" 2>/dev/null && answers "$dir" "$port"; then return 0; fi
  if curl -s --max-time 2 -o /dev/null "http://127.0.0.1:$port/"; then
    say "port $port is taken by another server (set OAI_MIRROR_TEST_WIKI_PORT)"; exit 1
  fi
  cat >"$dir/router.php" <<'EOF'
<?php
// php -S router: /wiki/Title goes to index.php, everything else is a file.
$path = parse_url( $_SERVER['REQUEST_URI'], PHP_URL_PATH );
if ( strncmp( $path, '/wiki/', 6 ) === 0 ) {
	$_SERVER['SCRIPT_NAME'] = '/w/index.php';
	$_SERVER['SCRIPT_FILENAME'] = __DIR__ . '/w/index.php';
	require __DIR__ . '/w/index.php';
	return true;
}
return false;
EOF
  PHP_CLI_SERVER_WORKERS=${MW_SERVER_WORKERS:-4} setsid php -d variables_order=EGPCS -d memory_limit=512M -d sendmail_path="$dir/sendmail" \
    -S "127.0.0.1:$port" -t "$dir" "$dir/router.php" >>"$dir/logs/server.log" 2>&1 </dev/null &
  echo $! >"$dir/server.pid"
  for _ in $(seq 1 150); do
    answers "$dir" "$port" && { say "wiki up at http://127.0.0.1:$port/w/api.php"; return 0; }
    kill -0 "$(cat "$dir/server.pid")" 2>/dev/null || { tail -20 "$dir/logs/server.log" >&2; exit 1; }
    sleep 0.2
  done
  say "the wiki did not answer within 30 s"; exit 1
}

write_settings() {
  cat >"$1/w/LocalSettings.tests.php" <<EOF
<?php
// Written by tests/testbeds/mediawiki.sh at every start.
\$wgServer = "http://127.0.0.1:$2";
\$wgCanonicalServer = \$wgServer;
\$wgScriptPath = "/w";
\$wgArticlePath = "/wiki/\\\$1";
\$wgCookiePrefix = "oaimirror$2";
\$wgSessionName = "oaimirror$2_session";
\$wgCacheDirectory = "$1/w/cache";
\$wgMainCacheType = CACHE_NONE;
\$wgSessionCacheType = CACHE_DB;
\$wgEnableBotPasswords = true;
\$wgDiff3 = "/usr/bin/diff3";
\$wgShowExceptionDetails = true;
\$wgJobRunRate = 1;
\$wgRunJobsAsync = false;
\$wgPingback = false;
// Uploads, into this instance's own directory (\$IP is the package's).
\$wgEnableUploads = true;
\$wgUploadDirectory = "$1/w/images";
\$wgUploadPath = "/w/images";
\$wgFileExtensions = [ 'png', 'gif', 'jpg', 'jpeg', 'pdf', 'svg' ];
// No thumbnails (no ImageMagick on the test bed), and SVG metadata read
// from the first bytes as a string: importDump.php --uploads (PHP 8.2)
// stops on an SVG smaller than the cutoff, which SVGReader opens as a file
// after the entity loader was turned off ("Unable to open source data").
\$wgUseImageMagick = false;
\$wgSVGMetadataCutoff = 128;
// PHP keeps its 2 MB limit on a request's file (an import's XML over it is
// refused, as tests/it/replay.rs wants): larger files go up in chunks.
\$wgMaxUploadSize = 64 * 1024 * 1024;
// Notification mails (enotif) for watched pages and user talk pages,
// "sent" through DIR/sendmail into DIR/mail/, one file each. The wiki's
// job queue sends them: runJobs.php (API requests run no jobs).
\$wgEnableEmail = true;
\$wgEnableUserEmail = true;
\$wgEnotifUserTalk = true;
\$wgEnotifWatchlist = true;
\$wgEmailAuthentication = false;
\$wgPasswordSender = "wiki@testbed.example";
\$wgDefaultUserOptions['watchdefault'] = 1;
\$wgDefaultUserOptions['enotifwatchlistpages'] = 1;
// The project's edit hook (examples/mediawiki); it triggers nothing until a
// test writes its daemon's trigger URLs into DIR/trigger.php.
wfLoadExtension( "OaiMirrorTrigger", "$REPO/examples/mediawiki/OaiMirrorTrigger/extension.json" );
if ( is_file( "$1/trigger.php" ) ) {
	require "$1/trigger.php";
}
EOF
}

stop() {
  local dir=$1
  [ -f "$dir/server.pid" ] || return 0
  kill -- -"$(cat "$dir/server.pid")" 2>/dev/null || kill "$(cat "$dir/server.pid")" 2>/dev/null || true
  rm -f "$dir/server.pid"
}

maintenance() {
  local dir; dir=$(cd "$1" && pwd -P); shift
  local script=$1; shift
  [ -f "$dir/w/LocalSettings.php" ] || { say "no wiki in $dir"; exit 1; }
  MW_INSTALL_PATH="$dir/w" MW_CONFIG_FILE="$dir/w/LocalSettings.php" php -d sendmail_path="$dir/sendmail" "$dir/w/maintenance/$script" "$@"
}

case "${1:-}" in
  install) install_packages ;;
  php) maintenance "${2:?DIR}" "${3:?SCRIPT}" "${@:4}" ;;
  start) start "${2:?DIR}" "${3:?PORT}" ;;
  stop) stop "${2:?DIR}" ;;
  *) echo "usage: $0 install | start DIR PORT | stop DIR | php DIR SCRIPT [ARGS]" >&2; exit 2 ;;
esac
