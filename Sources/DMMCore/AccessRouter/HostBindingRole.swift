import DMMWire

/// Binding Updates from mobile nodes themselves (no proxy flag, RFC 6275):
/// host-based mobility (RFC 8818 section 3.1.3, seite section 3.2), where a
/// node binds with its previous access router, will be handled here. Until
/// then every such update is refused with a status that says why, counted,
/// and changes nothing: 131 (home registration not supported) for a home
/// registration, 129 (administratively prohibited) for any other.
struct HostBindingRole: Sendable {
    func receive(_ bu: BindingUpdate, from sender: IPv6Address, _ c: inout RoleContext) {
        c.counters.pbuReceived += 1
        let status: BindingAckStatus = bu.flags.contains(.homeRegistration) ? .homeRegistrationNotSupported : .administrativelyProhibited
        c.acknowledge(bu, with: status, lifetime: 0, to: sender)
    }
}
