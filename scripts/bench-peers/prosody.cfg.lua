-- Prosody for scripts/bench: loopback only, no TLS (like the other servers in the comparison),
-- in-band registration without throttling for the load tool's accounts, and every message
-- archived (mod_mam) in SQLite so that it persists as Confidant's do. @DIR@ is the run's folder.
pidfile = "@DIR@/prosody.pid"
data_path = "@DIR@/data"
log = { warn = "@DIR@/prosody.log" }

interfaces = { "127.0.0.1" }
local_interfaces = { "127.0.0.1" }
http_interfaces = { "127.0.0.1" }
c2s_ports = { 15222 }
http_ports = { 15281 }
https_ports = {}

modules_enabled = { "roster", "saslauth", "disco", "ping", "register", "mam", "websocket" }
modules_disabled = { "s2s", "tls", "limits" }
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
consider_websocket_secure = true

allow_registration = true
min_seconds_between_registrations = 0
registration_throttle_max = 1000000
registration_whitelist = { "127.0.0.1" }

default_archive_policy = true
archive_expires_after = "1w"
storage = "sql"
sql = { driver = "SQLite3", database = "prosody.sqlite" }

VirtualHost "localhost"
