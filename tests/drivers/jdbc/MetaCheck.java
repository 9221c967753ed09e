// pgjdbc's DatabaseMetaData against a server, for tests/catalog_tools.rs
// (compiled at test time). Usage: java -cp postgresql.jar:DIR MetaCheck PORT
// Creates two tables, prints what getTables, getColumns, getSchemas and
// getTypeInfo report of them, and drops them; the test compares the output
// of ferrogres with PostgreSQL 15's.
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;

public class MetaCheck {
    public static void main(String[] args) throws Exception {
        String url = "jdbc:postgresql://127.0.0.1:" + args[0] + "/postgres?user=postgres";
        try (Connection c = DriverManager.getConnection(url)) {
            try (Statement s = c.createStatement()) {
                s.execute("CREATE TABLE jmeta_a (id int NOT NULL, name text, price numeric(10,2), at timestamptz, tags text[])");
                s.execute("CREATE TABLE jmeta_b (x bigint DEFAULT 7, y varchar(20))");
            }
            DatabaseMetaData md = c.getMetaData();
            try (ResultSet r = md.getTables(null, "public", "jmeta%", new String[] {"TABLE"})) {
                while (r.next()) {
                    System.out.println("table|" + r.getString("TABLE_SCHEM") + "|" + r.getString("TABLE_NAME")
                        + "|" + r.getString("TABLE_TYPE") + "|" + r.getString("REMARKS"));
                }
            }
            try (ResultSet r = md.getColumns(null, "public", "jmeta%", "%")) {
                while (r.next()) {
                    System.out.println("column|" + r.getString("TABLE_NAME") + "|" + r.getString("COLUMN_NAME")
                        + "|" + r.getInt("DATA_TYPE") + "|" + r.getString("TYPE_NAME") + "|" + r.getInt("COLUMN_SIZE")
                        + "|" + r.getInt("DECIMAL_DIGITS") + "|" + r.getInt("NULLABLE") + "|" + r.getString("COLUMN_DEF")
                        + "|" + r.getInt("ORDINAL_POSITION") + "|" + r.getString("IS_NULLABLE"));
                }
            }
            try (ResultSet r = md.getSchemas()) {
                while (r.next()) {
                    System.out.println("schema|" + r.getString("TABLE_SCHEM"));
                }
            }
            try (ResultSet r = md.getTableTypes()) {
                while (r.next()) {
                    System.out.println("tabletype|" + r.getString(1));
                }
            }
            try (Statement s = c.createStatement()) {
                s.execute("DROP TABLE jmeta_a, jmeta_b");
            }
        }
    }
}
