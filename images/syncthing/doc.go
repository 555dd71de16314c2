// Command volsync-syncthing is the Syncthing mover's entrypoint: `volsync-syncthing run`
// prepares syncthing's home (config.xml with the one shared folder on first start, the API's
// HTTPS certificate from the Secret, the data volume's .stignore) and replaces itself with
// `syncthing serve`, which the controller configures through its REST API (contract:
// README.md and images/contract/syncthing).
package main
