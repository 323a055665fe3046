// swift-format-ignore-file
// (Data tables and migration statements: their hand alignment carries meaning.)

import Foundation
import HTTPTypes
import Storage

/// The FHIR store's schema, as a changelog. Content columns hold AES-256-GCM sealed JSON;
/// index tables hold the plain search values (what search needs to compare).
package enum FHIRMigrations {
    package static let all: [Migration] = [
        Migration("fhir.001-resource") { d in [
            """
            CREATE TABLE hh_resource (
              res_type TEXT NOT NULL, res_id TEXT NOT NULL, version INTEGER NOT NULL,
              last_updated \(d.bigintType) NOT NULL, deleted INTEGER NOT NULL,
              key_id TEXT NOT NULL, content \(d.blobType) NOT NULL,
              PRIMARY KEY (res_type, res_id))
            """,
            "CREATE INDEX hh_resource_updated ON hh_resource (res_type, last_updated)",
        ] },
        Migration("fhir.002-resource-history") { d in [
            """
            CREATE TABLE hh_resource_history (
              res_type TEXT NOT NULL, res_id TEXT NOT NULL, version INTEGER NOT NULL,
              last_updated \(d.bigintType) NOT NULL, method TEXT NOT NULL,
              key_id TEXT, content \(d.blobType),
              PRIMARY KEY (res_type, res_id, version))
            """,
            "CREATE INDEX hh_history_updated ON hh_resource_history (last_updated)",
            "CREATE INDEX hh_history_type_updated ON hh_resource_history (res_type, last_updated)",
        ] },
        Migration("fhir.003-search-index") { d in [
            "CREATE TABLE hh_idx_string (res_type TEXT NOT NULL, res_id TEXT NOT NULL, param TEXT NOT NULL, value TEXT NOT NULL, exact TEXT NOT NULL)",
            "CREATE INDEX hh_idx_string_value ON hh_idx_string (res_type, param, value\(d.prefixPatternOps))",
            "CREATE INDEX hh_idx_string_res ON hh_idx_string (res_type, res_id)",
            "CREATE TABLE hh_idx_token (res_type TEXT NOT NULL, res_id TEXT NOT NULL, param TEXT NOT NULL, system TEXT NOT NULL, code TEXT NOT NULL)",
            "CREATE INDEX hh_idx_token_code ON hh_idx_token (res_type, param, code, system)",
            "CREATE INDEX hh_idx_token_res ON hh_idx_token (res_type, res_id)",
            "CREATE TABLE hh_idx_date (res_type TEXT NOT NULL, res_id TEXT NOT NULL, param TEXT NOT NULL, low \(d.bigintType) NOT NULL, high \(d.bigintType) NOT NULL)",
            "CREATE INDEX hh_idx_date_low ON hh_idx_date (res_type, param, low)",
            "CREATE INDEX hh_idx_date_res ON hh_idx_date (res_type, res_id)",
            "CREATE TABLE hh_idx_reference (res_type TEXT NOT NULL, res_id TEXT NOT NULL, param TEXT NOT NULL, target_type TEXT NOT NULL, target_id TEXT NOT NULL, url TEXT NOT NULL)",
            "CREATE INDEX hh_idx_reference_target ON hh_idx_reference (res_type, param, target_id)",
            "CREATE INDEX hh_idx_reference_rev ON hh_idx_reference (target_type, target_id)",
            "CREATE INDEX hh_idx_reference_res ON hh_idx_reference (res_type, res_id)",
            "CREATE TABLE hh_idx_number (res_type TEXT NOT NULL, res_id TEXT NOT NULL, param TEXT NOT NULL, value \(d.doubleType) NOT NULL)",
            "CREATE INDEX hh_idx_number_value ON hh_idx_number (res_type, param, value)",
            "CREATE INDEX hh_idx_number_res ON hh_idx_number (res_type, res_id)",
            "CREATE TABLE hh_idx_quantity (res_type TEXT NOT NULL, res_id TEXT NOT NULL, param TEXT NOT NULL, system TEXT NOT NULL, code TEXT NOT NULL, value \(d.doubleType) NOT NULL)",
            "CREATE INDEX hh_idx_quantity_value ON hh_idx_quantity (res_type, param, value)",
            "CREATE INDEX hh_idx_quantity_res ON hh_idx_quantity (res_type, res_id)",
            "CREATE TABLE hh_idx_uri (res_type TEXT NOT NULL, res_id TEXT NOT NULL, param TEXT NOT NULL, value TEXT NOT NULL)",
            "CREATE INDEX hh_idx_uri_value ON hh_idx_uri (res_type, param, value)",
            "CREATE INDEX hh_idx_uri_res ON hh_idx_uri (res_type, res_id)",
        ] },
        // Search probes (`EXISTS` on a candidate's own index rows) read only the index.
        Migration("fhir.004-covering-probe-indexes") { _ in [
            "DROP INDEX hh_idx_string_res", "CREATE INDEX hh_idx_string_res ON hh_idx_string (res_type, res_id, param, value)",
            "DROP INDEX hh_idx_token_res", "CREATE INDEX hh_idx_token_res ON hh_idx_token (res_type, res_id, param, code, system)",
            "DROP INDEX hh_idx_date_res", "CREATE INDEX hh_idx_date_res ON hh_idx_date (res_type, res_id, param, low, high)",
            "DROP INDEX hh_idx_reference_res", "CREATE INDEX hh_idx_reference_res ON hh_idx_reference (res_type, res_id, param, target_id, target_type)",
            "DROP INDEX hh_idx_number_res", "CREATE INDEX hh_idx_number_res ON hh_idx_number (res_type, res_id, param, value)",
            "DROP INDEX hh_idx_quantity_res", "CREATE INDEX hh_idx_quantity_res ON hh_idx_quantity (res_type, res_id, param, value, code, system)",
            "DROP INDEX hh_idx_uri_res", "CREATE INDEX hh_idx_uri_res ON hh_idx_uri (res_type, res_id, param, value)",
        ] },
        // The patients each version named (its Patient references), so that every version a
        // history returns passes the access rules of that version, in the SQL. Versions written
        // before this table existed are attributed to their resource's patients at upgrade time.
        Migration("fhir.006-history-patient") { _ in [
            """
            CREATE TABLE hh_history_patient (
              res_type TEXT NOT NULL, res_id TEXT NOT NULL, version INTEGER NOT NULL, param TEXT NOT NULL, patient_id TEXT NOT NULL,
              PRIMARY KEY (res_type, res_id, version, param, patient_id))
            """,
            """
            INSERT INTO hh_history_patient (res_type, res_id, version, param, patient_id)
            SELECT DISTINCT h.res_type, h.res_id, h.version, r.param, r.target_id FROM hh_resource_history h
            JOIN hh_idx_reference r ON r.res_type = h.res_type AND r.res_id = h.res_id AND r.target_type = 'Patient'
            WHERE h.res_type <> 'AuditEvent'
            """,
        ] },
    ]

    /// Index tables, each keyed by (res_type, res_id).
    package static let indexTables = ["hh_idx_string", "hh_idx_token", "hh_idx_date", "hh_idx_reference", "hh_idx_number", "hh_idx_quantity", "hh_idx_uri"]
}
