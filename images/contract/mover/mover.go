package mover

// Paths inside a mover container.
const (
	// DataDir is where the data volume (Filesystem) is mounted.
	DataDir = "/data"
	// BlockDevice is where a Block data volume appears.
	BlockDevice = "/dev/block"
	// TmpDir is the writable scratch directory (a memory emptyDir; the root filesystem is
	// read-only). It is also the mover's TMPDIR.
	TmpDir = "/tmp"
	// KeysDir is where a mover's key Secret is mounted (read-only).
	KeysDir = "/keys"
)

// Environment variables the controller sets.
const (
	// EnvDataDir overrides DataDir (tests).
	EnvDataDir = "DATA_DIR"
	// EnvKeysDir overrides KeysDir (tests).
	EnvKeysDir = "KEYS_DIR"
	// EnvDebug ("1" or "true") makes the mover's logs verbose.
	EnvDebug = "DEBUG_MOVER"
	// EnvPrivileged ("1") is set when the namespace allows privileged movers.
	EnvPrivileged = "PRIVILEGED_MOVER"
	// EnvDestinationAddress is the host name or IP address a source connects to.
	EnvDestinationAddress = "DESTINATION_ADDRESS"
	// EnvDestinationPort is the port a source connects to.
	EnvDestinationPort = "DESTINATION_PORT"
	// EnvListenPort is the port a destination listens on (the Service's targetPort).
	EnvListenPort = "LISTEN_PORT"
	// EnvRetryDelay (a Go duration) overrides the first delay between a mover's attempts
	// (tuning and tests).
	EnvRetryDelay = "MOVER_RETRY_DELAY"
)
