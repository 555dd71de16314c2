package proc

// sysSyncfs is syncfs(2) on linux/arm64 (the frozen syscall package lacks it).
const sysSyncfs = 267
