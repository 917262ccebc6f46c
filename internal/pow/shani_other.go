//go:build !amd64 || purego

package pow

// Without the amd64 kernel the hasher uses crypto/sha256 through its midstate.
const haveSHANI = false

func hash2SHANI(*niJob, *[2][32]byte) { panic("pow: no SHA-NI kernel on this platform") }
