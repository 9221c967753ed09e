// pgjdbc over TLS against ferrogres, for tests/tls.rs (compiled at test time).
// Usage: java -cp postgresql.jar:DIR SslCheck PORT PASSWORD
// sslmode=require (encrypted, certificate not verified, as pgjdbc defines it);
// prints ssl_is_used() and the TLS version from pg_stat_ssl.
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Properties;

public class SslCheck {
    public static void main(String[] args) throws Exception {
        String url = "jdbc:postgresql://127.0.0.1:" + args[0] + "/postgres";
        Properties props = new Properties();
        props.setProperty("user", "postgres");
        props.setProperty("password", args[1]);
        props.setProperty("sslmode", "require");
        try (Connection c = DriverManager.getConnection(url, props);
             Statement s = c.createStatement();
             ResultSet r = s.executeQuery(
                 "SELECT ssl_is_used(), version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")) {
            r.next();
            System.out.println(r.getBoolean(1) + "|" + r.getString(2));
        }
    }
}
