import Foundation
import Sealing
import Storage

/// Everything identity needs, opened once per process over the shared database.
package struct IdentityServices: Sendable {
    package let accounts: AccountStore
    package let clients: ClientStore
    package let sessions: SessionStore
    package let tokens: TokenService
    package let grants: GrantStore
    package let proxies: ProxyStore

    package static func open(database: any Database, keyring: Keyring, accessTokenLifetime: Int64 = 300) async throws -> IdentityServices {
        let keys = try await SigningKeys.open(database: database, keyring: keyring)
        let tokens = TokenService(keys: keys, database: database, accessTokenLifetime: accessTokenLifetime)
        return IdentityServices(
            accounts: AccountStore(database: database, keyring: keyring, policy: try PasswordPolicy()),
            clients: ClientStore(database: database),
            sessions: SessionStore(database: database),
            tokens: tokens,
            grants: GrantStore(database: database, tokens: tokens),
            proxies: ProxyStore(database: database))
    }
}
