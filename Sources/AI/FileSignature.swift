extension [UInt8] {
    /// Whether these bytes hold `signature` at `offset`: how uploads are told apart, since the
    /// type a client declares is not trusted.
    func has(_ signature: [UInt8], at offset: Int = 0) -> Bool {
        count >= offset + signature.count && self[offset..<offset + signature.count].elementsEqual(signature)
    }
}
