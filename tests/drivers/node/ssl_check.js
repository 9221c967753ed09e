// node-postgres over TLS against ferrogres, for tests/tls.rs.
// Usage: node ssl_check.js PORT PASSWORD CA_FILE
// Verifies the server certificate against CA_FILE (servername localhost),
// then prints ssl_is_used() and the TLS version from pg_stat_ssl.
const fs = require("fs");
const { Client } = require("pg");

async function main() {
  const [port, password, caFile] = process.argv.slice(2);
  const client = new Client({
    host: "127.0.0.1",
    port: Number(port),
    user: "postgres",
    database: "postgres",
    password,
    ssl: { ca: fs.readFileSync(caFile), servername: "localhost" },
    enableChannelBinding: true,
  });
  await client.connect();
  const r = await client.query(
    "SELECT ssl_is_used() AS used, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
  );
  console.log(`${r.rows[0].used}|${r.rows[0].version}`);
  await client.end();
}

main().catch((e) => {
  console.error(`node-postgres error: ${e.message}`);
  process.exit(1);
});
