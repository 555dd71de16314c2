package proc

// sysSyncfs is syncfs(2) on linux/amd64 (the frozen syscall package lacks it).
const sysSyncfs = 306
