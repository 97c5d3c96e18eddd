package main

// A tiny msgpack encoder producing what cty/msgpack emits for an object: a map holding every
// attribute of the schema, keys sorted bytewise, absent ones nil; strings as str, lists as
// arrays, integers in the smallest encoding (non-negative through the uint family).

import (
	"encoding/binary"
	"sort"
)

type mpNil struct{}

func mpEncode(b []byte, v interface{}) []byte {
	switch x := v.(type) {
	case nil, mpNil:
		return append(b, 0xc0)
	case bool:
		if x {
			return append(b, 0xc3)
		}
		return append(b, 0xc2)
	case int:
		return mpInt(b, int64(x))
	case int64:
		return mpInt(b, x)
	case string:
		n := len(x)
		switch {
		case n < 32:
			b = append(b, 0xa0|byte(n))
		case n < 256:
			b = append(b, 0xd9, byte(n))
		case n < 65536:
			b = append(b, 0xda, byte(n>>8), byte(n))
		default:
			b = append(b, 0xdb, 0, 0, 0, 0)
			binary.BigEndian.PutUint32(b[len(b)-4:], uint32(n))
		}
		return append(b, x...)
	case []string:
		b = mpArrayHdr(b, len(x))
		for _, s := range x {
			b = mpEncode(b, s)
		}
		return b
	case []interface{}:
		b = mpArrayHdr(b, len(x))
		for _, e := range x {
			b = mpEncode(b, e)
		}
		return b
	case map[string]interface{}:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		n := len(keys)
		if n < 16 {
			b = append(b, 0x80|byte(n))
		} else {
			b = append(b, 0xde, byte(n>>8), byte(n))
		}
		for _, k := range keys {
			b = mpEncode(b, k)
			b = mpEncode(b, x[k])
		}
		return b
	}
	panic("mpEncode: unsupported type")
}

func mpArrayHdr(b []byte, n int) []byte {
	if n < 16 {
		return append(b, 0x90|byte(n))
	}
	return append(b, 0xdc, byte(n>>8), byte(n))
}

func mpInt(b []byte, v int64) []byte {
	switch {
	case v >= 0 && v < 128:
		return append(b, byte(v))
	case v >= 0 && v < 256:
		return append(b, 0xcc, byte(v))
	case v >= 0 && v < 65536:
		return append(b, 0xcd, byte(v>>8), byte(v))
	case v >= 0 && v < 1<<32:
		b = append(b, 0xce, 0, 0, 0, 0)
		binary.BigEndian.PutUint32(b[len(b)-4:], uint32(v))
		return b
	case v >= 0:
		b = append(b, 0xcf, 0, 0, 0, 0, 0, 0, 0, 0)
		binary.BigEndian.PutUint64(b[len(b)-8:], uint64(v))
		return b
	case v >= -32:
		return append(b, byte(v))
	case v >= -128:
		return append(b, 0xd0, byte(v))
	case v >= -32768:
		return append(b, 0xd1, byte(v>>8), byte(v))
	case v >= -1<<31:
		b = append(b, 0xd2, 0, 0, 0, 0)
		binary.BigEndian.PutUint32(b[len(b)-4:], uint32(v))
		return b
	}
	b = append(b, 0xd3, 0, 0, 0, 0, 0, 0, 0, 0)
	binary.BigEndian.PutUint64(b[len(b)-8:], uint64(v))
	return b
}

// objectFor returns the cty-style object: every schema attribute, given values or nil.
func objectFor(attrs []string, vals map[string]interface{}) []byte {
	m := map[string]interface{}{}
	for _, a := range attrs {
		m[a] = nil
	}
	for k, v := range vals {
		m[k] = v
	}
	return mpEncode(nil, m)
}
