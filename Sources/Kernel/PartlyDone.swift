/// An error of work that was partly done before it failed (a notification that went out by
/// email but not by text): `done` names the parts that must not be done again, in the work's
/// own words (never patient data). A job that fails so keeps them for its next attempt
/// (`JobQueue.Job.done`).
package protocol PartlyDone: Error {
    var done: [String] { get }
    var underlying: any Error { get }
}
