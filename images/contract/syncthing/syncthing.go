package syncthing

// The mover runs as a Deployment (one replica), never as a Job: Syncthing keeps the volume in
// sync for as long as the ReplicationSource exists. Its only command is CommandRun.
const (
	// CommandRun is the image entrypoint's argument: prepare the configuration directory and
	// run syncthing in the foreground.
	CommandRun = "run"
	// Container is the mover container's name.
	Container = "syncthing"
)

// Paths inside the mover container (the reference's; the data volume is contract/mover.DataDir).
const (
	// ConfigDir holds syncthing's home: config.xml, the device certificate (cert.pem,
	// key.pem, made by syncthing on first start) and its database. It is the config PVC
	// (volsync-<rs>-config), so the device ID survives pod restarts.
	ConfigDir = "/mover-syncthing/config"
	// CertDir is where the API certificate and key (from the generated Secret) are mounted.
	CertDir = "/certs"
	// HTTPSCertFile and HTTPSKeyFile are their file names in CertDir; the mover copies them
	// into ConfigDir, where syncthing reads its API certificate.
	HTTPSCertFile = "https-cert.pem"
	HTTPSKeyFile  = "https-key.pem"
)

// Environment the controller sets (the reference's names).
const (
	// EnvConfigDir is ConfigDir.
	EnvConfigDir = "SYNCTHING_CONFIG_DIR"
	// EnvDataDir is the synchronized directory (contract/mover.DataDir).
	EnvDataDir = "SYNCTHING_DATA_DIR"
	// EnvCertDir is CertDir.
	EnvCertDir = "SYNCTHING_CERT_DIR"
	// EnvAPIKey is the REST API key (syncthing's own variable), from SecretAPIKey.
	EnvAPIKey = "STGUIAPIKEY"
	// EnvAPIAddress overrides where the API listens (default "0.0.0.0:8384"; tests on
	// loopback).
	EnvAPIAddress = "SYNCTHING_API_ADDRESS"
	// EnvListenAddress overrides where peers connect (default "tcp://0.0.0.0:22000"; tests
	// on loopback).
	EnvListenAddress = "SYNCTHING_LISTEN_ADDRESS"
)

// Ports and their names, on the pod and the Services.
const (
	// APIPort serves syncthing's REST API over HTTPS (the controller's only client), behind
	// the API Service volsync-<rs>-api.
	APIPort     = 8384
	APIPortName = "api"
	// DataPort receives peers' connections, behind the data Service volsync-<rs>-data.
	DataPort     = 22000
	DataPortName = "data"
)

// The one folder every VolSync syncthing shares: the data volume.
const (
	FolderID    = "syncthing-folder-id"
	FolderLabel = "synced volume"
)

// Keys of the Secret volsync-<rs> the controller generates once (from crypto/rand).
const (
	// SecretAPIKey is the REST API key.
	SecretAPIKey = "apikey"
	// SecretUsername and SecretPassword are the GUI credentials the controller sets.
	SecretUsername = "username"
	SecretPassword = "password"
	// SecretHTTPSCert and SecretHTTPSKey are the API's TLS certificate and key (PEM), mounted
	// as CertDir/HTTPSCertFile and CertDir/HTTPSKeyFile. The controller trusts exactly this
	// certificate.
	SecretHTTPSCert = "httpsCertPEM"
	SecretHTTPSKey  = "httpsKeyPEM"
	// Username is the GUI user name.
	Username = "syncthing"
)
