/// The data store's schema history. Add a migration at the end; never edit an applied one.
///
/// Conventions that keep one set of queries valid on SQLite and PostgreSQL: ids are TEXT
/// (lowercase UUIDs), times are BIGINT Unix milliseconds, flags are BIGINT 0/1, and sealed
/// (encrypted) values are BLOB/BYTEA. Columns ending in `_sealed` hold AES-GCM ciphertext only.
enum Schema {
    static let migrator = Migrator(
        table: "schema_migrations", migrations: [initial, widget, access, protection, privacy, secretGuard, securityAlerts, consentRecords])

    static let initial = Migration(version: 1, name: "chat core") { kind in
        let blob = kind.blobType
        return [
            """
            CREATE TABLE sites (
                id TEXT PRIMARY KEY,
                widget_key TEXT NOT NULL UNIQUE,
                name TEXT NOT NULL,
                allowed_origins TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE departments (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL UNIQUE,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE agents (
                id TEXT PRIMARY KEY,
                email TEXT NOT NULL UNIQUE,
                display_name TEXT NOT NULL,
                password_hash TEXT NOT NULL,
                role TEXT NOT NULL,
                max_conversations BIGINT NOT NULL,
                availability TEXT NOT NULL,
                active BIGINT NOT NULL,
                last_assigned_at BIGINT NOT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE agent_departments (
                agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
                department_id TEXT NOT NULL REFERENCES departments(id) ON DELETE CASCADE,
                PRIMARY KEY (agent_id, department_id)
            )
            """,
            "CREATE INDEX agent_departments_by_department ON agent_departments (department_id)",
            """
            CREATE TABLE agent_presence (
                agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
                node_id TEXT NOT NULL,
                connections BIGINT NOT NULL,
                seen_at BIGINT NOT NULL,
                PRIMARY KEY (agent_id, node_id)
            )
            """,
            """
            CREATE TABLE sessions (
                token_hash TEXT PRIMARY KEY,
                agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
                created_at BIGINT NOT NULL,
                last_seen_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL,
                user_agent TEXT NOT NULL,
                address TEXT NOT NULL
            )
            """,
            "CREATE INDEX sessions_by_agent ON sessions (agent_id)",
            """
            CREATE TABLE visitors (
                id TEXT PRIMARY KEY,
                site_id TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
                name_sealed \(blob),
                email_sealed \(blob),
                created_at BIGINT NOT NULL,
                last_seen_at BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE conversations (
                id TEXT PRIMARY KEY,
                site_id TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
                department_id TEXT REFERENCES departments(id) ON DELETE SET NULL,
                visitor_id TEXT NOT NULL REFERENCES visitors(id) ON DELETE CASCADE,
                state TEXT NOT NULL,
                agent_id TEXT REFERENCES agents(id) ON DELETE SET NULL,
                last_seq BIGINT NOT NULL,
                page_url_sealed \(blob),
                rating BIGINT,
                rating_comment_sealed \(blob),
                created_at BIGINT NOT NULL,
                queued_at BIGINT NOT NULL,
                assigned_at BIGINT,
                closed_at BIGINT,
                updated_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX conversations_by_state ON conversations (state, queued_at)",
            "CREATE INDEX conversations_by_agent ON conversations (agent_id, state)",
            "CREATE INDEX conversations_by_visitor ON conversations (visitor_id, state)",
            "CREATE INDEX conversations_by_created ON conversations (created_at)",
            """
            CREATE TABLE messages (
                id TEXT PRIMARY KEY,
                conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
                seq BIGINT NOT NULL,
                client_id TEXT NOT NULL,
                author_kind TEXT NOT NULL,
                author_id TEXT NOT NULL,
                visibility TEXT NOT NULL,
                body_sealed \(blob) NOT NULL,
                created_at BIGINT NOT NULL,
                UNIQUE (conversation_id, seq),
                UNIQUE (conversation_id, author_kind, author_id, client_id)
            )
            """,
            """
            CREATE TABLE conversation_events (
                id TEXT PRIMARY KEY,
                conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
                seq BIGINT NOT NULL,
                kind TEXT NOT NULL,
                actor_kind TEXT NOT NULL,
                actor_id TEXT,
                agent_id TEXT,
                from_agent_id TEXT,
                department_id TEXT,
                score BIGINT,
                created_at BIGINT NOT NULL,
                UNIQUE (conversation_id, seq)
            )
            """,
            """
            CREATE TABLE read_markers (
                conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
                reader_kind TEXT NOT NULL,
                reader_id TEXT NOT NULL,
                seq BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                PRIMARY KEY (conversation_id, reader_kind, reader_id)
            )
            """,
            """
            CREATE TABLE canned_responses (
                id TEXT PRIMARY KEY,
                scope TEXT NOT NULL,
                shortcut TEXT NOT NULL,
                body TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                UNIQUE (scope, shortcut)
            )
            """,
            """
            CREATE TABLE offline_messages (
                id TEXT PRIMARY KEY,
                site_id TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
                visitor_id TEXT NOT NULL REFERENCES visitors(id) ON DELETE CASCADE,
                department_id TEXT REFERENCES departments(id) ON DELETE SET NULL,
                client_id TEXT NOT NULL,
                name_sealed \(blob),
                email_sealed \(blob),
                body_sealed \(blob) NOT NULL,
                created_at BIGINT NOT NULL,
                handled_at BIGINT,
                handled_by TEXT REFERENCES agents(id) ON DELETE SET NULL,
                UNIQUE (visitor_id, client_id)
            )
            """,
            "CREATE INDEX offline_messages_by_created ON offline_messages (created_at)",
        ]
    }

    /// Site settings for the widget; a conversation's language and consent record.
    static let widget = Migration(version: 2, name: "widget settings and consent") { _ in
        [
            "ALTER TABLE sites ADD COLUMN settings TEXT NOT NULL DEFAULT '{}'",
            "ALTER TABLE conversations ADD COLUMN language TEXT",
            "ALTER TABLE conversations ADD COLUMN consent_at BIGINT",
            "ALTER TABLE conversations ADD COLUMN consent_policy_url TEXT",
        ]
    }

    /// Who gets in (issue #5): sessions with stages and CSRF tokens, passwords that must be
    /// changed, TOTP, recovery codes, sign-in throttling, the security policy, API tokens, the
    /// audit log, and verified visitors. Existing sessions end (they lack the new columns' values).
    static let access = Migration(version: 3, name: "access control") { kind in
        let blob = kind.blobType
        return [
            "DELETE FROM sessions",
            "ALTER TABLE sessions ADD COLUMN id TEXT NOT NULL DEFAULT ''",
            "ALTER TABLE sessions ADD COLUMN stage TEXT NOT NULL DEFAULT 'complete'",
            "ALTER TABLE sessions ADD COLUMN csrf_token TEXT NOT NULL DEFAULT ''",
            "CREATE UNIQUE INDEX sessions_by_id ON sessions (id)",
            "ALTER TABLE agents ADD COLUMN must_change_password BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE agents ADD COLUMN totp_secret_sealed \(blob)",
            "ALTER TABLE agents ADD COLUMN totp_pending_sealed \(blob)",
            "ALTER TABLE agents ADD COLUMN totp_enabled_at BIGINT",
            "ALTER TABLE agents ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0",
            """
            CREATE TABLE recovery_codes (
                agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
                code_hash TEXT NOT NULL,
                used_at BIGINT,
                PRIMARY KEY (agent_id, code_hash)
            )
            """,
            """
            CREATE TABLE auth_throttle (
                key TEXT PRIMARY KEY,
                failures BIGINT NOT NULL,
                last_failure_at BIGINT NOT NULL,
                blocked_until BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE sign_in_addresses (
                agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
                address TEXT NOT NULL,
                last_success_at BIGINT NOT NULL,
                PRIMARY KEY (agent_id, address)
            )
            """,
            """
            CREATE TABLE security_settings (
                key TEXT PRIMARY KEY,
                value TEXT NOT NULL,
                updated_at BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE api_tokens (
                id TEXT PRIMARY KEY,
                agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
                name TEXT NOT NULL,
                token_hash TEXT NOT NULL UNIQUE,
                scopes TEXT NOT NULL,
                allowed_networks TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL,
                last_used_at BIGINT,
                revoked_at BIGINT
            )
            """,
            "CREATE INDEX api_tokens_by_agent ON api_tokens (agent_id)",
            """
            CREATE TABLE audit_events (
                id TEXT PRIMARY KEY,
                at BIGINT NOT NULL,
                actor_kind TEXT NOT NULL,
                actor_id TEXT,
                action TEXT NOT NULL,
                target_kind TEXT,
                target_id TEXT,
                address TEXT,
                outcome TEXT NOT NULL,
                details TEXT NOT NULL
            )
            """,
            "CREATE INDEX audit_events_by_time ON audit_events (at)",
            "ALTER TABLE sites ADD COLUMN identity_secret_sealed \(blob)",
            "ALTER TABLE sites ADD COLUMN previous_identity_secret_sealed \(blob)",
            "ALTER TABLE sites ADD COLUMN previous_secret_expires_at BIGINT",
            "ALTER TABLE sites ADD COLUMN require_verified BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE visitors ADD COLUMN external_id_hash TEXT",
            "ALTER TABLE visitors ADD COLUMN verified_sealed \(blob)",
            "CREATE UNIQUE INDEX visitors_by_external_id ON visitors (site_id, external_id_hash)",
            """
            CREATE TABLE identity_nonces (
                site_id TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
                nonce TEXT NOT NULL,
                expires_at BIGINT NOT NULL,
                PRIMARY KEY (site_id, nonce)
            )
            """,
            "CREATE INDEX identity_nonces_by_expiry ON identity_nonces (expires_at)",
        ]
    }

    /// Standing up to attack (issue #6): the browsers' reports of Content-Security-Policy
    /// violations, and each site's blocklist.
    static let protection = Migration(version: 4, name: "protection") { _ in
        [
            """
            CREATE TABLE blocklist_entries (
                id TEXT PRIMARY KEY,
                site_id TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
                kind TEXT NOT NULL,
                value TEXT NOT NULL,
                reason TEXT NOT NULL,
                created_by TEXT,
                created_at BIGINT NOT NULL,
                expires_at BIGINT
            )
            """,
            "CREATE INDEX blocklist_entries_by_site ON blocklist_entries (site_id)",
            """
            CREATE TABLE csp_reports (
                id TEXT PRIMARY KEY,
                received_at BIGINT NOT NULL,
                document_uri TEXT NOT NULL,
                directive TEXT NOT NULL,
                blocked_uri TEXT NOT NULL,
                source TEXT NOT NULL,
                address TEXT NOT NULL
            )
            """,
            "CREATE INDEX csp_reports_by_time ON csp_reports (received_at)",
        ]
    }

    /// Privacy by design (issue #7): where each message was masked on arrival (kinds and
    /// offsets only, never what was hidden).
    static let privacy = Migration(version: 5, name: "privacy") { _ in
        [
            "ALTER TABLE messages ADD COLUMN redactions TEXT",
            // The audit log's hash chain (Audit/AuditChain.swift); entries written before it
            // are chained at start-up.
            "ALTER TABLE audit_events ADD COLUMN seq BIGINT",
            "ALTER TABLE audit_events ADD COLUMN prev_hash TEXT",
            "ALTER TABLE audit_events ADD COLUMN hash TEXT",
            "CREATE UNIQUE INDEX audit_events_by_seq ON audit_events (seq)",
        ]
    }

    /// Supervisors' one-time exceptions to the guard against asking visitors for secrets.
    static let secretGuard = Migration(version: 6, name: "secret request guard") { _ in
        [
            """
            CREATE TABLE guard_exceptions (
                conversation_id TEXT PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
                granted_by TEXT NOT NULL,
                expires_at BIGINT NOT NULL
            )
            """
        ]
    }

    /// Security alerts raised from the audit log, with their webhook delivery state; an index
    /// that counts one actor's recent entries of one action.
    static let securityAlerts = Migration(version: 7, name: "security alerts") { _ in
        [
            """
            CREATE TABLE security_alerts (
                id TEXT PRIMARY KEY,
                kind TEXT NOT NULL,
                raised_at BIGINT NOT NULL,
                actor_kind TEXT NOT NULL,
                actor_id TEXT,
                actor_name TEXT,
                summary TEXT NOT NULL,
                audit_seq BIGINT NOT NULL,
                acknowledged_by TEXT,
                acknowledged_at BIGINT,
                webhook_attempts INTEGER NOT NULL DEFAULT 0,
                webhook_next_at BIGINT,
                webhook_delivered_at BIGINT
            )
            """,
            "CREATE INDEX security_alerts_by_time ON security_alerts (raised_at)",
            "CREATE INDEX security_alerts_by_webhook ON security_alerts (webhook_next_at)",
            "CREATE INDEX audit_events_by_actor_action ON audit_events (actor_id, action, at)",
        ]
    }

    /// Each visitor's consent: what they agreed to, which version, when, and its withdrawal.
    /// The records go with the visitor (erasure, retention).
    static let consentRecords = Migration(version: 8, name: "consent records") { _ in
        [
            """
            CREATE TABLE consent_records (
                id TEXT PRIMARY KEY,
                visitor_id TEXT NOT NULL REFERENCES visitors(id) ON DELETE CASCADE,
                site_id TEXT NOT NULL,
                version TEXT NOT NULL,
                text TEXT,
                language TEXT,
                privacy_policy_url TEXT,
                given_at BIGINT NOT NULL,
                withdrawn_at BIGINT
            )
            """,
            "CREATE INDEX consent_records_by_visitor ON consent_records (visitor_id)",
        ]
    }
}
