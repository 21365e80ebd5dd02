package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// checkFile checks the page structure of the bbolt file f (of size bytes)
// with plain reads, before bbolt maps it into memory.
//
// bbolt trusts the file: it follows page ids from the meta page, branch
// pages and bucket headers straight into its memory map, so a truncated or
// corrupted file makes it panic ("invalid freelist page") or fault on
// memory past the end of the file, which no recover can catch. checkFile
// walks the same tree without trusting anything: both meta pages and their
// checksums, the high-water mark against the file size, the freelist, and
// every branch, leaf and bucket page reachable from the root, with every
// page id, element offset and length checked against the file and page
// bounds before it is followed. After it passes, bbolt's own consistency
// check (Tx.Check) and the reads of rescore cannot leave the file.
//
// The layout is bbolt's file format (version 2), in the machine's byte
// order as bbolt writes it.
func checkFile(f io.ReaderAt, size int64) error {
	m, err := readMeta(f, size)
	if err != nil {
		return err
	}
	if need := int64(m.pgid) * int64(m.pageSize); need > size {
		return fmt.Errorf("the file is %d bytes but its pages need %d: it was truncated", size, need)
	}
	w := &walker{f: f, ps: int64(m.pageSize), hwm: m.pgid, seen: map[uint64]bool{}}
	if m.freelist != noFreelist {
		if err := w.freelist(m.freelist); err != nil {
			return err
		}
	}
	return w.bucket(m.root, nil, 0)
}

const (
	bboltMagic   = 0xED0CDAED
	bboltVersion = 2
	pageHeader   = 16 // id u64, flags u16, count u16, overflow u32
	elemSize     = 16 // branch: pos, ksize u32, pgid u64; leaf: flags, pos, ksize, vsize u32
	metaSize     = 64 // magic, version, page size, flags u32; root, sequence, freelist, pgid, txid, checksum u64
	flagBranch   = 0x01
	flagLeaf     = 0x02
	flagFreelist = 0x10
	bucketLeaf   = 0x01
	maxDepth     = 64
	noFreelist   = ^uint64(0)
	// maxPageSize bounds the page size read from a meta page before it is
	// used to size reads.
	maxPageSize = 1 << 20
)

type meta struct {
	pageSize                   uint32
	root, freelist, pgid, txid uint64
}

// readMeta returns the meta page bbolt would use: the valid one of the two
// with the higher transaction id. The second one lies one page further;
// when the first is damaged its page size is unknown, so the usual sizes
// are tried.
func readMeta(f io.ReaderAt, size int64) (meta, error) {
	m0, err0 := readMetaAt(f, size, 0)
	sizes := []int64{4096, 8192, 16384, 32768, 65536}
	if err0 == nil {
		sizes = []int64{int64(m0.pageSize)}
	}
	for _, ps := range sizes {
		m1, err1 := readMetaAt(f, size, ps)
		if err1 != nil || int64(m1.pageSize) != ps {
			continue
		}
		if err0 != nil || m1.txid > m0.txid {
			return m1, nil
		}
		break
	}
	return m0, err0
}

func readMetaAt(f io.ReaderAt, size, off int64) (meta, error) {
	if off+pageHeader+metaSize > size {
		return meta{}, fmt.Errorf("the file is %d bytes, too short for a bbolt file", size)
	}
	b := make([]byte, pageHeader+metaSize)
	if _, err := f.ReadAt(b, off); err != nil {
		return meta{}, err
	}
	b = b[pageHeader:]
	switch {
	case binary.NativeEndian.Uint32(b[0:]) != bboltMagic:
		return meta{}, errors.New("not a bbolt file (bad magic number)")
	case binary.NativeEndian.Uint32(b[4:]) != bboltVersion:
		return meta{}, fmt.Errorf("bbolt file format version %d, want %d", binary.NativeEndian.Uint32(b[4:]), bboltVersion)
	}
	h := fnv.New64a()
	h.Write(b[:56])
	if h.Sum64() != binary.NativeEndian.Uint64(b[56:]) {
		return meta{}, errors.New("meta page checksum mismatch")
	}
	m := meta{pageSize: binary.NativeEndian.Uint32(b[8:]), root: binary.NativeEndian.Uint64(b[16:]), freelist: binary.NativeEndian.Uint64(b[32:]), pgid: binary.NativeEndian.Uint64(b[40:]), txid: binary.NativeEndian.Uint64(b[48:])}
	if m.pageSize < 512 || m.pageSize > maxPageSize || m.pageSize&(m.pageSize-1) != 0 {
		return meta{}, fmt.Errorf("bad page size %d", m.pageSize)
	}
	if m.pgid < 2 || m.root >= m.pgid || (m.freelist != noFreelist && m.freelist >= m.pgid) {
		return meta{}, fmt.Errorf("meta page points past its high-water mark %d (root %d, freelist %d)", m.pgid, m.root, m.freelist)
	}
	return m, nil
}

// walker reads pages, checking every id against the high-water mark and
// every page being reached once.
type walker struct {
	f    io.ReaderAt
	ps   int64
	hwm  uint64
	seen map[uint64]bool
}

// page reads page id with its overflow pages.
func (w *walker) page(id uint64) (flags uint16, count int, data []byte, err error) {
	if id < 2 || id >= w.hwm {
		return 0, 0, nil, fmt.Errorf("page %d is outside the file's pages [2, %d)", id, w.hwm)
	}
	hdr := make([]byte, pageHeader)
	if _, err := w.f.ReadAt(hdr, int64(id)*w.ps); err != nil {
		return 0, 0, nil, fmt.Errorf("page %d: %w", id, err)
	}
	overflow := uint64(binary.NativeEndian.Uint32(hdr[12:]))
	switch {
	case binary.NativeEndian.Uint64(hdr) != id:
		return 0, 0, nil, fmt.Errorf("page %d has the id %d", id, binary.NativeEndian.Uint64(hdr))
	case id+overflow >= w.hwm:
		return 0, 0, nil, fmt.Errorf("page %d overflows past the high-water mark", id)
	}
	for i := id; i <= id+overflow; i++ {
		if w.seen[i] {
			return 0, 0, nil, fmt.Errorf("page %d is referenced twice", i)
		}
		w.seen[i] = true
	}
	data = make([]byte, int64(overflow+1)*w.ps)
	if _, err := w.f.ReadAt(data, int64(id)*w.ps); err != nil {
		return 0, 0, nil, fmt.Errorf("page %d: %w", id, err)
	}
	return binary.NativeEndian.Uint16(hdr[8:]), int(binary.NativeEndian.Uint16(hdr[10:])), data, nil
}

func (w *walker) freelist(id uint64) error {
	flags, count, data, err := w.page(id)
	if err != nil {
		return fmt.Errorf("freelist: %w", err)
	}
	if flags != flagFreelist {
		return fmt.Errorf("freelist page %d has type %#x", id, flags)
	}
	ids := data[pageHeader:]
	if count == 0xFFFF { // the real count is the first id
		if len(ids) < 8 {
			return fmt.Errorf("freelist page %d is short", id)
		}
		n := binary.NativeEndian.Uint64(ids)
		if n > uint64(len(ids)/8-1) {
			return fmt.Errorf("freelist page %d claims %d ids", id, n)
		}
		count, ids = int(n), ids[8:]
	}
	if count*8 > len(ids) {
		return fmt.Errorf("freelist page %d claims %d ids", id, count)
	}
	for i := range count {
		if p := binary.NativeEndian.Uint64(ids[i*8:]); p < 2 || p >= w.hwm {
			return fmt.Errorf("freelist page %d frees page %d, outside [2, %d)", id, p, w.hwm)
		}
	}
	return nil
}

// bucket checks a bucket: its root page, or its inline page.
func (w *walker) bucket(root uint64, inline []byte, depth int) error {
	if depth > maxDepth {
		return errors.New("buckets nested too deep")
	}
	if root == 0 {
		if len(inline) < pageHeader {
			return errors.New("inline bucket too short")
		}
		return w.node(binary.NativeEndian.Uint16(inline[8:]), int(binary.NativeEndian.Uint16(inline[10:])), inline, depth, true)
	}
	return w.tree(root, depth, 0)
}

func (w *walker) tree(id uint64, depth, level int) error {
	if level > maxDepth {
		return fmt.Errorf("page %d: tree too deep", id)
	}
	flags, count, data, err := w.page(id)
	if err != nil {
		return err
	}
	if err := w.node(flags, count, data, depth, false); err != nil {
		return fmt.Errorf("page %d: %w", id, err)
	}
	if flags == flagBranch {
		for i := range count {
			if err := w.tree(binary.NativeEndian.Uint64(data[pageHeader+i*elemSize+8:]), depth, level+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// node checks the elements of a branch or leaf page held in data, and
// descends into the buckets a leaf holds.
func (w *walker) node(flags uint16, count int, data []byte, depth int, inline bool) error {
	if flags != flagBranch && flags != flagLeaf || inline && flags != flagLeaf {
		return fmt.Errorf("unexpected page type %#x", flags)
	}
	if pageHeader+count*elemSize > len(data) {
		return fmt.Errorf("%d elements do not fit in %d bytes", count, len(data))
	}
	for i := range count {
		off := pageHeader + i*elemSize
		e := data[off : off+elemSize]
		var pos, klen, vlen uint64
		if flags == flagBranch {
			pos, klen = uint64(binary.NativeEndian.Uint32(e[0:])), uint64(binary.NativeEndian.Uint32(e[4:]))
		} else {
			pos, klen, vlen = uint64(binary.NativeEndian.Uint32(e[4:])), uint64(binary.NativeEndian.Uint32(e[8:])), uint64(binary.NativeEndian.Uint32(e[12:]))
		}
		if uint64(off)+pos+klen+vlen > uint64(len(data)) {
			return fmt.Errorf("element %d lies outside its page", i)
		}
		if flags == flagLeaf && binary.NativeEndian.Uint32(e[0:])&bucketLeaf != 0 {
			v := data[uint64(off)+pos+klen : uint64(off)+pos+klen+vlen]
			if len(v) < 16 {
				return fmt.Errorf("element %d: bucket header too short", i)
			}
			if err := w.bucket(binary.NativeEndian.Uint64(v), v[16:], depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// fileSize returns the size of the file at path, or -1 if it does not
// exist.
func fileSize(path string) (int64, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return -1, nil
	}
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}
