import ConfidantCore
import SQLKit

/// Conversation counts and averages over a period, for reports.
struct ConversationReport: Codable, Sendable, Equatable {
    /// Conversations created in the period, by state.
    var byState: [String: Int]
    /// Mean seconds from queueing to assignment, over assigned conversations.
    var averageWaitSeconds: Double?
    /// Mean rating (1–5), over rated conversations.
    var averageRating: Double?
    var ratings: Int
}

extension Store {
    /// The report for conversations created in `[from, to)`; `departments`, when given, limits
    /// it to those departments and conversations of no department.
    func conversationReport(from: Int64, to: Int64, departments: [DepartmentID]?) async throws -> ConversationReport {
        func scoped(_ query: SQLSelectBuilder) -> SQLSelectBuilder {
            var query = query.where("created_at", .greaterThanOrEqual, from).where("created_at", .lessThan, to)
            if let departments {
                query = query.where { group in
                    var group = group.where("department_id", .is, SQLLiteral.null)
                    if !departments.isEmpty { group = group.orWhere("department_id", .in, departments.map(\.rawValue)) }
                    return group
                }
            }
            return query
        }
        struct StateRow: Decodable {
            let state: String
            let n: Int
        }
        struct AverageRow: Decodable {
            let wait: Double?
            let rating: Double?
            let ratings: Int
        }
        let states = try await scoped(
            sql.select().column("state").column(SQLAlias(SQLFunction("count", args: SQLLiteral.all), as: SQLIdentifier("n"))).from("conversations")
        )
        .groupBy("state").all(decoding: StateRow.self)
        let averages = try await scoped(
            sql.select()
                .column(SQLRaw("CAST(avg(CASE WHEN assigned_at IS NOT NULL THEN (assigned_at - queued_at) / 1000.0 END) AS DOUBLE PRECISION)"), as: "wait")
                .column(SQLRaw("CAST(avg(rating) AS DOUBLE PRECISION)"), as: "rating")
                .column(SQLRaw("count(rating)"), as: "ratings")
                .from("conversations")
        ).first(decoding: AverageRow.self)
        return ConversationReport(
            byState: Dictionary(uniqueKeysWithValues: states.map { ($0.state, $0.n) }), averageWaitSeconds: averages?.wait, averageRating: averages?.rating,
            ratings: averages?.ratings ?? 0)
    }
}
