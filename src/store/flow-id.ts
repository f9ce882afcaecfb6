// What a flow id may be, in both stores: it names a file under DATA_DIR (lowdb), so nothing that
// could climb out of a folder or need escaping; PostgreSQL holds to the same, so an id valid in one
// store is valid in the other.
export const FLOW_ID_PATTERN = /^[A-Za-z0-9-]{1,64}$/;
