import Scheduling
import Testing

/// Who hears of which change of an appointment: the other side, never the writer.
@Suite struct AppointmentNoticeTests {
    typealias Notice = AppointmentNotice.Notice

    @Test func theClinicianHearsOfWhatAPatientDoes() {
        let patient = "Patient/p1"
        #expect(Notice(before: nil, after: "booked", moved: false, writer: patient) == .booked)
        #expect(Notice(before: "hold", after: "booked", moved: false, writer: patient) == .booked)
        #expect(Notice(before: "hold", after: "pending", moved: false, writer: patient) == .requested)
        #expect(Notice(before: "booked", after: "cancelled", moved: false, writer: patient) == .cancelledByPatient)
        #expect(Notice(before: "pending", after: "cancelled", moved: false, writer: patient) == .cancelledByPatient)
        #expect(Notice(before: "booked", after: "booked", moved: true, writer: patient) == .movedByPatient)
        // a hold the patient lets go, or a hold being made, is nobody's business
        #expect(Notice(before: "hold", after: "cancelled", moved: false, writer: patient) == nil)
        #expect(Notice(before: nil, after: "hold", moved: false, writer: patient) == nil)
    }

    @Test func thePatientHearsOfWhatThePracticeDoes() {
        for staff in ["Practitioner/x", "User/admin-1"] {
            #expect(Notice(before: "pending", after: "booked", moved: false, writer: staff) == .approved)
            #expect(Notice(before: "pending", after: "cancelled", moved: false, writer: staff) == .declined)
            #expect(Notice(before: "booked", after: "cancelled", moved: false, writer: staff) == .cancelledByPractice)
            #expect(Notice(before: "booked", after: "booked", moved: true, writer: staff) == .movedByPractice)
            // staff booking for a patient, or recording a no-show, tells nobody by email
            #expect(Notice(before: nil, after: "booked", moved: false, writer: staff) == nil)
            #expect(Notice(before: "booked", after: "noshow", moved: false, writer: staff) == nil)
        }
        #expect(Notice.approved.toPatient && !Notice.booked.toPatient)
    }

    @Test func healthHubsOwnJobsAndImportsTellNobody() {
        #expect(Notice(before: "hold", after: "cancelled", moved: false, writer: "healthhub scheduling") == nil)
        #expect(Notice(before: "pending", after: "booked", moved: false, writer: nil) == nil)
    }
}
