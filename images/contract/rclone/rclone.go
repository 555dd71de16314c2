package rclone

// Mounts.
const (
	// ConfigDir is where the user's rcloneConfig Secret is mounted (key ConfigKey only).
	ConfigDir = "/rclone-config"
	// ConfigKey is the key of the rcloneConfig Secret holding the rclone configuration file.
	ConfigKey = "rclone.conf"
	// CustomCADir is where the customCA Secret or ConfigMap key is mounted, as CustomCAFile.
	CustomCADir = "/customCA"
	// CustomCAFile is the file name of the CA bundle in CustomCADir.
	CustomCAFile = "ca.crt"
)

// Environment the controller sets (the reference's names: users' runbooks know them).
const (
	// EnvConfig is the path of rclone.conf (rclone reads it itself too).
	EnvConfig = "RCLONE_CONFIG"
	// EnvDestPath is the remote path (bucket/dir), spec.rclone.rcloneDestPath.
	EnvDestPath = "RCLONE_DEST_PATH"
	// EnvConfigSection is the remote's section of rclone.conf, spec.rclone.rcloneConfigSection.
	EnvConfigSection = "RCLONE_CONFIG_SECTION"
	// EnvDirection is DirectionSource or DirectionDestination.
	EnvDirection = "DIRECTION"
	// EnvMountPath is where the data is (DataDir of images/contract/mover).
	EnvMountPath = "MOUNT_PATH"
	// EnvCustomCA is the path of the CA bundle to trust, when the object names one.
	EnvCustomCA = "CUSTOM_CA"
	// SecretEnvPrefix: every key of the rcloneConfig Secret starting with it is passed to the
	// mover as an environment variable (rclone reads RCLONE_<FLAG> as --<flag>).
	SecretEnvPrefix = "RCLONE_"
)

// Directions.
const (
	DirectionSource      = "source"
	DirectionDestination = "destination"
)

// Manifest is the name of the object, at the root of the remote path, in which a source
// records what rclone's object copy does not keep (directories, symlinks, modes, ownership,
// ACLs and extended attributes, times). A source writes it last; a destination takes data only
// from a remote path that has one ("no data from a source yet" otherwise). The name is
// reserved: a file of that name at the root of a source volume is not replicated.
const Manifest = ".volsync-rclone-manifest.json.gz"

// Keys of the mover's result details (images/contract/result).
const (
	// DetailChecks is how many files rclone compared.
	DetailChecks = "checks"
	// DetailDeletes is how many files and directories rclone and the manifest removed.
	DetailDeletes = "deletes"
	// DetailEntries is how many entries the manifest holds.
	DetailEntries = "entries"
)
