/// A UTC calendar date and time from seconds since the Unix epoch, without
/// Foundation, for printing timestamps the way Wireshark does.
struct CivilTime: Hashable {
    var year: Int64, month: Int64, day: Int64, hour: Int64, minute: Int64, second: Int64

    static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    init(unixSeconds: Int64) {
        let (days, secs) = unixSeconds.quotientAndRemainder(dividingBy: 86400)
        let d = secs < 0 ? days - 1 : days
        let s = secs < 0 ? secs + 86400 : secs
        // Days since 1970-01-01 to a civil date (the proleptic Gregorian
        // calendar in 400-year eras of 146097 days, eras starting on March 1).
        let z = d + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        day = doy - (153 * mp + 2) / 5 + 1
        month = mp < 10 ? mp + 3 : mp - 9
        year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        hour = s / 3600
        minute = s / 60 % 60
        second = s % 60
    }

    /// "Mar 17, 2025 03:12:00.250000000 UTC", the day padded with a space.
    func text(nanoseconds: Int64) -> String {
        func pad(_ v: Int64, _ width: Int, _ fill: Character = "0") -> String {
            let s = String(v)
            return String(repeating: fill, count: max(0, width - s.count)) + s
        }
        return "\(Self.monthNames[Int(month - 1)]) \(pad(day, 2, " ")), \(year) "
            + "\(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2)).\(pad(nanoseconds, 9)) UTC"
    }
}
