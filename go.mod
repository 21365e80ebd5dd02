module github.com/prefixvet/prefixvet

go 1.26.0

require (
	github.com/google/go-cmp v0.7.0
	github.com/miekg/dns v1.1.73
	github.com/seancfoley/ipaddress-go v1.7.1
	go.etcd.io/bbolt v1.5.0
	golang.org/x/sync v0.25.0
)

require (
	github.com/seancfoley/bintree v1.3.1 // indirect
	golang.org/x/net v0.57.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
)
