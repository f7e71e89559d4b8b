// The host layer's library needs one object before its first reader moves in.
namespace swarmwall::host {}
