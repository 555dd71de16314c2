package rsync

// Keys of the ssh key Secrets (the reference's names). The source's Secret holds Source,
// SourcePub and DestinationPub; the destination's holds Destination, DestinationPub and
// SourcePub. Private keys are in OpenSSH format; public keys are one authorized_keys line.
const (
	// Source is the source's private key (its ssh identity).
	Source = "source"
	// SourcePub is the source's public key: the destination authorises it.
	SourcePub = "source.pub"
	// Destination is the destination's private key: the host key of its sshd.
	Destination = "destination"
	// DestinationPub is the destination's public key: the source's known host key.
	DestinationPub = "destination.pub"
)

const (
	// ListenPort is where the destination's sshd listens in the pod (unprivileged; the
	// Service's targetPort, as in the reference).
	ListenPort = 8022
	// DefaultPort is the port a source connects to when spec.rsync.port is not set.
	DefaultPort = 22
	// DefaultUser is the login name a source uses when spec.rsync.sshUser is not set. The
	// destination mover accepts any login name: its sshd runs as the mover's own user.
	DefaultUser = "root"
	// EnvSSHUser sets the login name of a source (spec.rsync.sshUser).
	EnvSSHUser = "SSH_USER"
	// ShutdownCommand, followed by a space and a decimal exit code, is what a source runs on
	// the destination after its transfer: the destination mover stops and exits with that
	// code (0 after a successful sync).
	ShutdownCommand = "shutdown"
)

const (
	// EnvDestinationPath is where a source writes on the destination (default "."): relative to
	// the volume on a VolSync destination, to the login's home directory on an ssh server
	// outside Kubernetes (spec.rsync.path).
	EnvDestinationPath = "DESTINATION_PATH"
	// DefaultPath is the destination path when EnvDestinationPath is not set.
	DefaultPath = "."
	// MessagePrefix starts every line a VolSync destination writes to an ssh client's stderr.
	// A source that sees it knows it talks to a VolSync destination (which needs
	// ShutdownCommand) and not to an ssh server outside Kubernetes (where "shutdown 0" would be
	// the system's command).
	MessagePrefix = "volsync-rsync destination: "
	// Greeting is what the destination writes (on stderr) when it starts receiving.
	Greeting = MessagePrefix + "receiving into the volume"
)
