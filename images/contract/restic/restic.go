package restic

// Actions are the mover Job's arguments, run in the order given. The controller decides them
// when it creates the Job (jobs.DecisionsAnnotation) so they hold until the Job ends.
const (
	// ActionUnlock removes the repository's locks before the other actions (spec.restic.unlock
	// differs from status.restic.lastUnlocked): `restic unlock --remove-all`. A repository
	// that does not exist yet has nothing to unlock (not an error).
	ActionUnlock = "unlock"
	// ActionBackup backs the data up (initialising the repository on first use), then applies
	// the retention policy (EnvForgetOptions) with `restic forget`. An empty data volume is
	// not backed up (a new, empty snapshot would make the retention policy drop real ones);
	// the other actions still run.
	ActionBackup = "backup"
	// ActionPrune runs `restic prune` (pruneIntervalDays has passed).
	ActionPrune = "prune"
	// ActionRestore restores the selected snapshot (EnvRestoreAsOf, EnvSelectPrevious) into
	// the data volume. A missing or empty repository, or no eligible snapshot, restores
	// nothing and succeeds, saying so; the repository is not created.
	ActionRestore = "restore"
)

// Paths inside the mover container (the data volume is images/contract/mover.DataDir).
const (
	// CacheDir is where the cache PVC (volsync-<src|dst>-<obj>-cache) is mounted.
	CacheDir = "/cache"
	// CustomCADir is where the customCA Secret or ConfigMap key is mounted, as CustomCAFile.
	CustomCADir = "/customCA"
	// CustomCAFile is the file name of the CA bundle in CustomCADir.
	CustomCAFile = "ca.crt"
	// CredentialsDir is where the repository Secret's GOOGLE_APPLICATION_CREDENTIALS key is
	// mounted, as GCSCredentialsFile.
	CredentialsDir = "/credentials"
	// GCSCredentialsFile is the file name of the Google credentials in CredentialsDir.
	GCSCredentialsFile = "gcs.json"
)

// Environment the controller sets (the reference's names: users' runbooks know them).
const (
	// EnvRepository and EnvPassword come from the repository Secret (required keys).
	EnvRepository = "RESTIC_REPOSITORY"
	EnvPassword   = "RESTIC_PASSWORD"
	// EnvCacheDir is CacheDir.
	EnvCacheDir = "RESTIC_CACHE_DIR"
	// EnvForgetOptions are the `restic forget` options of spec.restic.retain, e.g.
	// "--keep-daily 7 --keep-last 2" (default "--keep-last 1").
	EnvForgetOptions = "FORGET_OPTIONS"
	// EnvRestoreAsOf (RFC 3339, may be empty): restore the newest snapshot taken at or before.
	EnvRestoreAsOf = "RESTORE_AS_OF"
	// EnvSelectPrevious (a whole number, default "0"): skip that many newer snapshots.
	EnvSelectPrevious = "SELECT_PREVIOUS"
	// EnvRestoreOptions is "--delete" when enableFileDeletion is set (files not in the
	// snapshot are removed), else empty.
	EnvRestoreOptions = "RESTORE_OPTIONS"
	// EnvCustomCA is the path of the CA bundle to trust, when the object names one.
	EnvCustomCA = "CUSTOM_CA"
	// EnvGoogleCredentials is CredentialsDir/GCSCredentialsFile when the repository Secret
	// has that key.
	EnvGoogleCredentials = "GOOGLE_APPLICATION_CREDENTIALS"
	// SecretEnvPrefix: every key of the repository Secret starting with it is passed too
	// (restic's rclone backend reads the RCLONE_* configuration).
	SecretEnvPrefix = "RCLONE_"
)

// RestoreDelete is EnvRestoreOptions' value for enableFileDeletion.
const RestoreDelete = "--delete"

// Host is the host name recorded in, and selected from, every snapshot: one repository per
// replicated volume, whichever pod or cluster wrote it.
const Host = "volsync"

// Locks. The controller gives each mover pod the host name of its replication object
// (LockHostPrefix and a hash of the object's namespace, name and direction); restic records
// it in its locks. The controller runs one mover pod per object at a time, so a lock of the
// mover's own host name was left by an earlier pod that ended without releasing it (killed
// mid-backup): the mover removes it (after `restic unlock` found it not yet stale by restic's
// own rules). A lock of any other host is reported, with its holder and age (ReasonLocked).
const LockHostPrefix = "volsync-"

// OptionalKeys are the repository Secret's keys passed to the mover when present (besides
// EnvRepository, EnvPassword, SecretEnvPrefix keys and EnvGoogleCredentials): restic's
// backends' credentials and restic's own tuning.
var OptionalKeys = []string{
	"RESTIC_COMPRESSION", "RESTIC_PACK_SIZE", "RESTIC_READ_CONCURRENCY",
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION", "AWS_PROFILE",
	"RESTIC_AWS_ASSUME_ROLE_ARN", "RESTIC_AWS_ASSUME_ROLE_SESSION_NAME", "RESTIC_AWS_ASSUME_ROLE_EXTERNAL_ID",
	"RESTIC_AWS_ASSUME_ROLE_POLICY", "RESTIC_AWS_ASSUME_ROLE_REGION", "RESTIC_AWS_ASSUME_ROLE_STS_ENDPOINT",
	"ST_AUTH", "ST_USER", "ST_KEY",
	"OS_AUTH_URL", "OS_REGION_NAME", "OS_USERNAME", "OS_USER_ID", "OS_PASSWORD", "OS_TENANT_ID", "OS_TENANT_NAME",
	"OS_USER_DOMAIN_NAME", "OS_USER_DOMAIN_ID", "OS_PROJECT_NAME", "OS_PROJECT_DOMAIN_NAME", "OS_PROJECT_DOMAIN_ID",
	"OS_TRUST_ID", "OS_APPLICATION_CREDENTIAL_ID", "OS_APPLICATION_CREDENTIAL_NAME",
	"OS_APPLICATION_CREDENTIAL_SECRET", "OS_STORAGE_URL", "OS_AUTH_TOKEN",
	"B2_ACCOUNT_ID", "B2_ACCOUNT_KEY",
	"AZURE_ACCOUNT_NAME", "AZURE_ACCOUNT_KEY", "AZURE_ACCOUNT_SAS", "AZURE_ENDPOINT_SUFFIX", "AZURE_TENANT_ID",
	"AZURE_CLIENT_ID", "AZURE_FEDERATED_TOKEN_FILE",
	"GOOGLE_PROJECT_ID",
	"RESTIC_REST_USERNAME", "RESTIC_REST_PASSWORD",
}

// ExitUserAction is the mover's exit code when the repository cannot be used as configured
// (ReasonWrongPassword, ReasonUnreachable, ReasonLocked, ReasonUnreadable, ReasonUnwritable,
// ReasonCacheFull):
// running the same pod again cannot help, so the Job fails at once (its pod failure policy)
// and the controller stops after a bounded number of Jobs, asking the user to act.
const ExitUserAction = 3

// Keys of the mover's result details (images/contract/result).
const (
	// DetailSnapshotID is the ID of the snapshot a backup saved (short form).
	DetailSnapshotID = "snapshotID"
	// DetailFilesNew, DetailFilesChanged and DetailFilesUnmodified count a backup's files.
	DetailFilesNew        = "filesNew"
	DetailFilesChanged    = "filesChanged"
	DetailFilesUnmodified = "filesUnmodified"
	// DetailBytesAdded is what a backup added to the repository (after deduplication and
	// compression), in bytes.
	DetailBytesAdded = "bytesAdded"
	// DetailPruned is "true" when the run pruned the repository (ActionPrune succeeded).
	DetailPruned = "pruned"
	// DetailUnlocked is "true" when the run removed the repository's locks (ActionUnlock).
	DetailUnlocked = "unlocked"
	// DetailRestored is the ID of the snapshot a restore restored ("" when none).
	DetailRestored = "restoredSnapshot"
	// DetailReason classifies a failure (the Reason* values).
	DetailReason = "reason"
)

// Failure reasons (DetailReason).
const (
	// ReasonWrongPassword: the repository exists but RESTIC_PASSWORD does not open it.
	ReasonWrongPassword = "WrongPassword"
	// ReasonUnreachable: the repository's backend could not be reached or refused access.
	ReasonUnreachable = "Unreachable"
	// ReasonLocked: another holder's lock is on the repository (the error names its host,
	// PID and age): set spec.restic.unlock to remove it.
	ReasonLocked = "Locked"
	// ReasonUnreadable: the backup could not read some files; the snapshot is incomplete and
	// the retention policy was not applied (older snapshots are kept).
	ReasonUnreadable = "Unreadable"
	// ReasonUnwritable: the restore could not write or delete some files of the data volume
	// (permission denied: an unprivileged mover and files of another owner); the error names
	// them. Run the mover as their owner (moverSecurityContext) or allow privileged movers.
	ReasonUnwritable = "Unwritable"
	// ReasonCacheFull: the cache volume is full even after the mover emptied it: raise
	// spec.restic.cacheCapacity.
	ReasonCacheFull = "CacheFull"
)
