/// Opens an account. Refused with ``TurnstileError/emailTaken`` when the email already has one.
public struct Register: WriteOperation {
    public let registration: Registration
    public let passwordHash: String

    public init(_ registration: Registration, passwordHash: String) {
        self.registration = registration
        self.passwordHash = passwordHash
    }

    public func need(_ needs: inout BatchPlan.Needs) {
        needs.emails.insert(registration.email)
    }

    public func apply(to plan: inout BatchPlan) -> Result<User, TurnstileError> {
        guard plan.inputs.takenEmails.insert(registration.email).inserted else { return .failure(.emailTaken) }
        let user = User(
            id: plan.inputs.nextIDs.take(\.user), email: registration.email, username: registration.username,
            createdAt: plan.inputs.now)
        plan.effects.users.append(StoredCredentials(user: user, passwordHash: passwordHash))
        plan.inputs.knownUserIDs.insert(user.id)
        return .success(user)
    }
}
