package gossip

import "hash/crc32"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func crc32cUpdate(crc uint32, b []byte) uint32 { return crc32.Update(crc, castagnoli, b) }
