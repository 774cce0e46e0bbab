//+------------------------------------------------------------------+
//| TapedeckBridge.mq5 - the MT5 side of tapedeck's EA line protocol  |
//|                                                                    |
//| Connects to the tapedeck gateway (TCP client; MQL5 cannot listen), |
//| streams the ticks of every configured symbol (OnTimer + CopyTicks, |
//| not only the chart's OnTick), sends symbol specifications on       |
//| connect and on change, executes ORDER commands with CTrade (intent |
//| id as order comment, our magic number; an intent id already in the |
//| history or the local journal is refused), reports every deal of    |
//| ours from OnTradeTransaction (DEAL_ADD) and keeps each line that   |
//| the gateway has not acknowledged in a file, so a terminal restart  |
//| loses nothing. The protocol: docs/PROTOCOL.md; setup: ops/mt5/README.md.
//+------------------------------------------------------------------+
#property copyright "tapedeck"
#property version   "1.00"

#include <Trade\Trade.mqh>

input string GatewayHost    = "127.0.0.1";   // gateway address (in Tools > Options > Expert Advisors list)
input ushort GatewayPort    = 7878;          // gateway port (gateway.listen)
input string GatewayToken   = "";            // gateway.token
input string Symbols        = "EURUSD,GBPUSD,USDJPY,XAUUSD"; // symbols to stream, comma separated
input long   Magic          = 770001;        // magic number of tapedeck's orders
input int    TimerMs        = 100;           // polling period for ticks and socket
input int    HeartbeatSec   = 5;             // HEARTBEAT period
input int    SpecCheckSec   = 60;            // how often specs are compared for changes
input int    AccountSec     = 30;            // ACCOUNT period
input int    DeviationPts   = 20;            // max price deviation for market orders, points
input int    ReconnectSec   = 3;             // wait between connection attempts

#define PROTOCOL_VERSION 1
#define MAX_LINE 4095

// ---- persistent state (MQL5\Files\tapedeck\<account>\) ----
string g_dir;
ulong  g_seq = 0;          // last sequence number used (file seq.txt)
ulong  g_acked = 0;        // highest sequence number the gateway acknowledged
ulong  g_unsent_from = 0;  // the first line numbered while no session was open (0: none): never sent
string g_outbox[];         // unacknowledged lines, in sequence order (file outbox.txt)
ulong  g_outbox_seq[];
ulong  g_outbox_msc[];     // a TICK line: the server time_msc of its tick (0 for other lines)
int    g_outbox_n[];       // and how many ticks with that time_msc had been sent with it
string g_executed[];       // intent ids executed by this EA (file executed.txt)

// ---- symbols ----
string g_sym[];
ulong  g_last_msc[];       // time_msc of the newest tick sent, per symbol (file ticks.txt)
int    g_last_n[];         // how many ticks with exactly that time_msc were sent
string g_spec[];           // the last SPEC body sent, per symbol

// ---- connection ----
int      g_sock = INVALID_HANDLE;
bool     g_welcomed = false;
string   g_rx = "";
datetime g_next_connect = 0;
datetime g_last_heartbeat = 0, g_last_spec_check = 0, g_last_account = 0;

CTrade g_trade;

void Disconnect();
void CheckSpecs();

//--- small helpers ---------------------------------------------------

// UTC milliseconds of a trade-server time in milliseconds.
long ServerMscToUtc(const long server_msc)
{
   long offset = (long)(TimeTradeServer() - TimeGMT());
   offset = (long)MathRound(offset / 1800.0) * 1800;   // whole half hours
   return server_msc - offset * 1000;
}

long NowUtcMsc()
{
   return (long)TimeGMT() * 1000;
}

string Dec(const double v, const int digits)
{
   return DoubleToString(v, digits);
}

string SwapMode(const long mode)
{
   switch((int)mode)
   {
      case SYMBOL_SWAP_MODE_DISABLED: return "disabled";
      case SYMBOL_SWAP_MODE_POINTS:   return "points";
      case SYMBOL_SWAP_MODE_INTEREST_CURRENT:
      case SYMBOL_SWAP_MODE_INTEREST_OPEN: return "interest";
      default: return "money";  // every currency mode: swap given in money
   }
}

//--- files ------------------------------------------------------------

void SaveSeq()
{
   int h = FileOpen(g_dir + "seq.txt", FILE_WRITE | FILE_TXT | FILE_ANSI);
   if(h == INVALID_HANDLE) { Print("tapedeck: cannot write seq.txt: ", GetLastError()); return; }
   FileWriteString(h, IntegerToString((long)g_seq) + "\n");
   FileClose(h);
}

// One outbox record per line: "R <tick time_msc> <n> <the protocol line> END" (TAB separated), written
// with one call; a record cut short by a crash lacks its END and is ignored on loading - its line was
// never sent (it is sent after being written), and the tick position it carries is not taken.
string OutboxRecord(const int i)
{
   return "R\t" + IntegerToString((long)g_outbox_msc[i]) + "\t" + IntegerToString(g_outbox_n[i]) + "\t" +
          g_outbox[i] + "\tEND\n";
}

void SaveOutbox()
{
   int h = FileOpen(g_dir + "outbox.txt", FILE_WRITE | FILE_TXT | FILE_ANSI);
   if(h == INVALID_HANDLE) { Print("tapedeck: cannot write outbox.txt: ", GetLastError()); return; }
   for(int i = 0; i < ArraySize(g_outbox); i++)
      FileWriteString(h, OutboxRecord(i));
   FileClose(h);
}

void AppendOutbox(const int i)
{
   int h = FileOpen(g_dir + "outbox.txt", FILE_READ | FILE_WRITE | FILE_TXT | FILE_ANSI);
   if(h == INVALID_HANDLE) { Print("tapedeck: cannot append outbox.txt: ", GetLastError()); return; }
   FileSeek(h, 0, SEEK_END);
   FileWriteString(h, OutboxRecord(i));
   FileClose(h);
}

void SaveTicks()
{
   int h = FileOpen(g_dir + "ticks.txt", FILE_WRITE | FILE_TXT | FILE_ANSI);
   if(h == INVALID_HANDLE) return;
   for(int i = 0; i < ArraySize(g_sym); i++)
      FileWriteString(h, g_sym[i] + "\t" + IntegerToString((long)g_last_msc[i]) + "\t" +
                      IntegerToString(g_last_n[i]) + "\n");
   FileClose(h);
}

void LoadState()
{
   int h = FileOpen(g_dir + "seq.txt", FILE_READ | FILE_TXT | FILE_ANSI);
   if(h != INVALID_HANDLE) { g_seq = (ulong)StringToInteger(FileReadString(h)); FileClose(h); }

   ArrayResize(g_outbox, 0); ArrayResize(g_outbox_seq, 0); ArrayResize(g_outbox_msc, 0); ArrayResize(g_outbox_n, 0);
   h = FileOpen(g_dir + "outbox.txt", FILE_READ | FILE_TXT | FILE_ANSI);
   if(h != INVALID_HANDLE)
   {
      while(!FileIsEnding(h))
      {
         string parts[];
         int k = StringSplit(FileReadString(h), '\t', parts);
         if(k < 6 || parts[0] != "R" || parts[k - 1] != "END") continue;  // a record cut short
         string line = parts[3];
         for(int j = 4; j < k - 1; j++) line += "\t" + parts[j];
         int n = ArraySize(g_outbox);
         ArrayResize(g_outbox, n + 1); ArrayResize(g_outbox_seq, n + 1);
         ArrayResize(g_outbox_msc, n + 1); ArrayResize(g_outbox_n, n + 1);
         g_outbox[n] = line;
         g_outbox_seq[n] = (ulong)StringToInteger(parts[4]);
         g_outbox_msc[n] = (ulong)StringToInteger(parts[1]);
         g_outbox_n[n] = (int)StringToInteger(parts[2]);
         if(g_outbox_seq[n] > g_seq) g_seq = g_outbox_seq[n];  // seq.txt may lag the outbox
      }
      FileClose(h);
   }

   ArrayResize(g_executed, 0);
   h = FileOpen(g_dir + "executed.txt", FILE_READ | FILE_TXT | FILE_ANSI);
   if(h != INVALID_HANDLE)
   {
      while(!FileIsEnding(h))
      {
         string id = FileReadString(h);
         if(id == "") continue;
         int n = ArraySize(g_executed); ArrayResize(g_executed, n + 1); g_executed[n] = id;
      }
      FileClose(h);
   }

   h = FileOpen(g_dir + "ticks.txt", FILE_READ | FILE_TXT | FILE_ANSI);
   if(h != INVALID_HANDLE)
   {
      while(!FileIsEnding(h))
      {
         string parts[];
         if(StringSplit(FileReadString(h), '\t', parts) != 3) continue;
         for(int i = 0; i < ArraySize(g_sym); i++)
            if(g_sym[i] == parts[0]) { g_last_msc[i] = (ulong)StringToInteger(parts[1]); g_last_n[i] = (int)StringToInteger(parts[2]); }
      }
      FileClose(h);
   }
   // ticks written to the outbox after ticks.txt was last saved: resume after them
   for(int j = 0; j < ArraySize(g_outbox); j++)
   {
      if(g_outbox_msc[j] == 0) continue;
      for(int i = 0; i < ArraySize(g_sym); i++)
         if(StringFind(g_outbox[j], "\tsymbol=" + g_sym[i] + "\t") >= 0 &&
            (g_outbox_msc[j] > g_last_msc[i] || (g_outbox_msc[j] == g_last_msc[i] && g_outbox_n[j] > g_last_n[i])))
         { g_last_msc[i] = g_outbox_msc[j]; g_last_n[i] = g_outbox_n[j]; }
   }
}

void RememberExecuted(const string intent)
{
   int n = ArraySize(g_executed); ArrayResize(g_executed, n + 1); g_executed[n] = intent;
   int h = FileOpen(g_dir + "executed.txt", FILE_READ | FILE_WRITE | FILE_TXT | FILE_ANSI);
   if(h == INVALID_HANDLE) { Print("tapedeck: cannot append executed.txt: ", GetLastError()); return; }
   FileSeek(h, 0, SEEK_END);
   FileWriteString(h, intent + "\n");
   FileClose(h);
}

//--- the socket -------------------------------------------------------

bool SendRaw(const string line)
{
   if(g_sock == INVALID_HANDLE) return false;
   uchar buf[];
   int n = StringToCharArray(line + "\n", buf, 0, WHOLE_ARRAY, CP_UTF8) - 1; // without the NUL
   if(n <= 0 || n > MAX_LINE + 1) { Print("tapedeck: line too long, dropped: ", StringSubstr(line, 0, 80)); return false; }
   if(SocketSend(g_sock, buf, (uint)n) != n)
   {
      Print("tapedeck: send failed (", GetLastError(), "), reconnecting");
      Disconnect();
      return false;
   }
   return true;
}

// Gives the body the next sequence number, keeps the line (with the tick position it reaches, for
// a TICK) until it is acknowledged, and sends it when a session is open (otherwise it goes out with
// the resend after the next WELCOME). The record is on disk before the line is on the wire.
void Emit(const string verb, const string body, const ulong tick_msc = 0, const int tick_n = 0)
{
   g_seq++;
   if(!g_welcomed && g_unsent_from == 0) g_unsent_from = g_seq;
   string line = verb + "\t" + IntegerToString((long)g_seq) + "\t" + body;
   int n = ArraySize(g_outbox);
   ArrayResize(g_outbox, n + 1); ArrayResize(g_outbox_seq, n + 1);
   ArrayResize(g_outbox_msc, n + 1); ArrayResize(g_outbox_n, n + 1);
   g_outbox[n] = line; g_outbox_seq[n] = g_seq; g_outbox_msc[n] = tick_msc; g_outbox_n[n] = tick_n;
   AppendOutbox(n);
   SaveSeq();
   if(g_welcomed) SendRaw(line);
}

void Disconnect()
{
   if(g_sock != INVALID_HANDLE) SocketClose(g_sock);
   g_sock = INVALID_HANDLE;
   g_welcomed = false;
   g_rx = "";
   g_next_connect = TimeLocal() + ReconnectSec;
}

// Drops every outbox line up to acked.
void OnAck(const ulong acked)
{
   if(acked > g_acked) g_acked = acked;
   int keep = 0;
   for(int i = 0; i < ArraySize(g_outbox); i++)
      if(g_outbox_seq[i] > g_acked)
      {
         g_outbox[keep] = g_outbox[i]; g_outbox_seq[keep] = g_outbox_seq[i];
         g_outbox_msc[keep] = g_outbox_msc[i]; g_outbox_n[keep] = g_outbox_n[i];
         keep++;
      }
   if(keep != ArraySize(g_outbox))
   {
      // the tick positions first: a crash between the two files then leaves acknowledged records in
      // the outbox (resent, dropped by the gateway), never a position behind what was sent
      SaveTicks();
      ArrayResize(g_outbox, keep); ArrayResize(g_outbox_seq, keep);
      ArrayResize(g_outbox_msc, keep); ArrayResize(g_outbox_n, keep);
      SaveOutbox();
   }
}

void Connect()
{
   if(TimeLocal() < g_next_connect) return;
   g_next_connect = TimeLocal() + ReconnectSec;
   g_sock = SocketCreate();
   if(g_sock == INVALID_HANDLE) { Print("tapedeck: SocketCreate failed: ", GetLastError()); return; }
   if(!SocketConnect(g_sock, GatewayHost, GatewayPort, 3000))
   {
      Print("tapedeck: cannot connect to ", GatewayHost, ":", GatewayPort, " (", GetLastError(),
            "); is the address in the allowed list?");
      SocketClose(g_sock); g_sock = INVALID_HANDLE;
      return;
   }
   // HELLO takes the next number, never resent: WELCOME answers it (the gateway counts it only when
   // it follows what it has, so OnWelcome renumbers the lines after it when it does not).
   g_seq++;
   SaveSeq();
   string hello = "HELLO\t" + IntegerToString((long)g_seq) + "\tversion=" + IntegerToString(PROTOCOL_VERSION) +
                  "\taccount=" + IntegerToString(AccountInfoInteger(ACCOUNT_LOGIN)) +
                  "\tterminal=" + TerminalInfoString(TERMINAL_NAME) + "\ttoken=" + GatewayToken;
   SendRaw(hello);
}

// The protocol line with another sequence number (VERB, number, body: the number is the 2nd field).
string Renumbered(const string line, const ulong seq)
{
   int a = StringFind(line, "\t");
   int b = StringFind(line, "\t", a + 1);
   return StringSubstr(line, 0, a) + "\t" + IntegerToString((long)seq) + "\t" + StringSubstr(line, b + 1);
}

// After WELCOME acked=N: the lines the gateway has are dropped, the others are numbered N+1, N+2,
// ... and resent, and new lines continue after them (the gateway refuses a gap). The numbers change
// only when they would not follow N: holes left by HELLOs, a lost seq.txt (the gateway holds more
// than this EA numbered: its lines would all be dropped as resends), a reset sequence. A line
// numbered while no session was open was never sent: it is kept whatever its number.
void OnWelcome(const ulong acked)
{
   g_welcomed = true;
   if(acked > g_acked) g_acked = acked;
   int keep = 0;
   for(int i = 0; i < ArraySize(g_outbox); i++)
   {
      bool unsent = g_unsent_from != 0 && g_outbox_seq[i] >= g_unsent_from;
      if(!unsent && g_outbox_seq[i] <= acked) continue;  // the gateway has it
      g_outbox[keep] = Renumbered(g_outbox[i], acked + (ulong)keep + 1); g_outbox_seq[keep] = acked + (ulong)keep + 1;
      g_outbox_msc[keep] = g_outbox_msc[i]; g_outbox_n[keep] = g_outbox_n[i];
      keep++;
   }
   ArrayResize(g_outbox, keep); ArrayResize(g_outbox_seq, keep);
   ArrayResize(g_outbox_msc, keep); ArrayResize(g_outbox_n, keep);
   g_seq = acked + (ulong)keep;
   g_unsent_from = 0;
   SaveTicks();  // as in OnAck: the tick positions before the outbox
   SaveOutbox();
   SaveSeq();
   Print("tapedeck: session open, gateway has up to ", acked, ", resending ", keep, " line(s) after it");
   for(int i = 0; i < ArraySize(g_outbox) && g_welcomed; i++)
      SendRaw(g_outbox[i]);
   for(int i = 0; i < ArraySize(g_sym); i++) g_spec[i] = "";
   CheckSpecs();
}

//--- what the EA sends ------------------------------------------------

string SpecBody(const string sym)
{
   return "symbol=" + sym +
          "\tdigits=" + IntegerToString(SymbolInfoInteger(sym, SYMBOL_DIGITS)) +
          "\tcontract_size=" + Dec(SymbolInfoDouble(sym, SYMBOL_TRADE_CONTRACT_SIZE), 8) +
          "\ttick_size=" + Dec(SymbolInfoDouble(sym, SYMBOL_TRADE_TICK_SIZE), 8) +
          "\ttick_value=" + Dec(SymbolInfoDouble(sym, SYMBOL_TRADE_TICK_VALUE), 8) +
          "\tswap_long=" + Dec(SymbolInfoDouble(sym, SYMBOL_SWAP_LONG), 8) +
          "\tswap_short=" + Dec(SymbolInfoDouble(sym, SYMBOL_SWAP_SHORT), 8) +
          "\tswap_mode=" + SwapMode(SymbolInfoInteger(sym, SYMBOL_SWAP_MODE)) +
          "\ttriple_swap_weekday=" + IntegerToString(SymbolInfoInteger(sym, SYMBOL_SWAP_ROLLOVER3DAYS)) +
          "\tvolume_step=" + Dec(SymbolInfoDouble(sym, SYMBOL_VOLUME_STEP), 8) +
          "\tvolume_min=" + Dec(SymbolInfoDouble(sym, SYMBOL_VOLUME_MIN), 8) +
          "\tvolume_max=" + Dec(SymbolInfoDouble(sym, SYMBOL_VOLUME_MAX), 8);
}

// Sends a SPEC for every symbol whose specification differs from the one last sent.
void CheckSpecs()
{
   for(int i = 0; i < ArraySize(g_sym); i++)
   {
      string body = SpecBody(g_sym[i]);
      if(body == g_spec[i]) continue;
      g_spec[i] = body;
      Emit("SPEC", "time=" + IntegerToString(NowUtcMsc()) + "\t" + body);
   }
   g_last_spec_check = TimeLocal();
}

// New ticks of one symbol since the last one sent (CopyTicks from its time_msc, skipping the
// ones with that exact time that were already sent).
void PollTicks(const int i)
{
   MqlTick ticks[];
   ulong from = g_last_msc[i] == 0 ? (ulong)(TimeTradeServer() - 60) * 1000 : g_last_msc[i];
   int n = CopyTicks(g_sym[i], ticks, COPY_TICKS_INFO, from, 100000);
   if(n <= 0) return;
   int skip = 0;
   for(int k = 0; k < n; k++)
   {
      ulong msc = (ulong)ticks[k].time_msc;
      if(msc == g_last_msc[i] && skip < g_last_n[i]) { skip++; continue; }
      // the position counts every tick consumed, so the skip above stays exact
      if(msc == g_last_msc[i]) g_last_n[i]++;
      else { g_last_msc[i] = msc; g_last_n[i] = 1; }
      if(ticks[k].bid <= 0 || ticks[k].ask <= 0 || ticks[k].bid > ticks[k].ask) continue; // not a quote
      int digits = (int)SymbolInfoInteger(g_sym[i], SYMBOL_DIGITS);
      Emit("TICK", "symbol=" + g_sym[i] + "\ttime=" + IntegerToString(ServerMscToUtc((long)msc)) +
                   "\tbid=" + Dec(ticks[k].bid, digits) + "\task=" + Dec(ticks[k].ask, digits) +
                   "\tflags=" + IntegerToString(ticks[k].flags), msc, g_last_n[i]);
   }
}

void SendAccount()
{
   Emit("ACCOUNT", "time=" + IntegerToString(NowUtcMsc()) +
                   "\tbalance=" + Dec(AccountInfoDouble(ACCOUNT_BALANCE), 2) +
                   "\tequity=" + Dec(AccountInfoDouble(ACCOUNT_EQUITY), 2) +
                   "\tmargin=" + Dec(AccountInfoDouble(ACCOUNT_MARGIN), 2) +
                   "\tcurrency=" + AccountInfoString(ACCOUNT_CURRENCY));
   g_last_account = TimeLocal();
}

//--- orders -------------------------------------------------------------

string KeyValue(const string &fields[], const string key)
{
   for(int i = 1; i < ArraySize(fields); i++)
      if(StringFind(fields[i], key + "=") == 0) return StringSubstr(fields[i], StringLen(key) + 1);
   return "";
}

// True when an order of ours with this intent id as its comment is in the history or open.
bool AlreadyExecuted(const string intent)
{
   for(int i = 0; i < ArraySize(g_executed); i++)
      if(g_executed[i] == intent) return true;
   if(HistorySelect(0, TimeCurrent() + 86400))
      for(int i = HistoryOrdersTotal() - 1; i >= 0; i--)
      {
         ulong t = HistoryOrderGetTicket(i);
         if(HistoryOrderGetInteger(t, ORDER_MAGIC) == Magic && HistoryOrderGetString(t, ORDER_COMMENT) == intent) return true;
      }
   for(int i = OrdersTotal() - 1; i >= 0; i--)
   {
      ulong t = OrderGetTicket(i);
      if(OrderGetInteger(ORDER_MAGIC) == Magic && OrderGetString(ORDER_COMMENT) == intent) return true;
   }
   return false;
}

void Reject(const string intent, const string sym, const string side, const string reason)
{
   Emit("EXEC", "symbol=" + sym + "\ttime=" + IntegerToString(NowUtcMsc()) + "\tintent=" + intent +
                "\tside=" + side + "\tprice=0\tvolume=0\tstatus=rejected\treason=" + reason);
}

// ORDER intent=ID symbol=S side=buy|sell volume=V sl=P tp=P (0 = none)
void OnOrder(const string &fields[])
{
   string intent = KeyValue(fields, "intent"), sym = KeyValue(fields, "symbol"), side = KeyValue(fields, "side");
   double volume = StringToDouble(KeyValue(fields, "volume"));
   double sl = StringToDouble(KeyValue(fields, "sl")), tp = StringToDouble(KeyValue(fields, "tp"));
   if(intent == "" || sym == "" || (side != "buy" && side != "sell") || volume <= 0)
   {
      Print("tapedeck: malformed ORDER refused");
      return;
   }
   if(AlreadyExecuted(intent))
   {
      Print("tapedeck: ORDER intent=", intent, " refused: this intent id was already executed");
      return;
   }
   if(StringLen(intent) > 31)  // MT5 keeps at most 31 characters of a comment
   {
      Reject(intent, sym, side, "intent id longer than 31 characters");
      return;
   }
   RememberExecuted(intent);  // before sending: a crash between the two never sends twice
   g_trade.SetExpertMagicNumber(Magic);
   g_trade.SetDeviationInPoints(DeviationPts);
   bool ok = side == "buy" ? g_trade.Buy(volume, sym, 0.0, sl, tp, intent) : g_trade.Sell(volume, sym, 0.0, sl, tp, intent);
   uint code = g_trade.ResultRetcode();
   if(!ok || (code != TRADE_RETCODE_DONE && code != TRADE_RETCODE_DONE_PARTIAL && code != TRADE_RETCODE_PLACED))
   {
      string reason = g_trade.ResultRetcodeDescription();
      StringReplace(reason, "\t", " ");
      Reject(intent, sym, side, "retcode " + IntegerToString(code) + " " + reason);
   }
   // fills are reported from OnTradeTransaction (DEAL_ADD)
}

//--- reading the gateway ------------------------------------------------

void HandleLine(const string line)
{
   string f[];
   int n = StringSplit(line, '\t', f);
   if(n < 1) return;
   if(f[0] == "ACK" && n >= 2) OnAck((ulong)StringToInteger(f[1]));
   else if(f[0] == "WELCOME") OnWelcome((ulong)StringToInteger(KeyValue(f, "acked")));
   else if(f[0] == "ORDER") OnOrder(f);
   else if(f[0] == "ERR")
   {
      Print("tapedeck: gateway refused a line: ", line);
      // a gap: the gateway lacks a line before it; the next WELCOME says from where to resend
      if(n >= 3 && StringFind(f[2], "seq: expected ") == 0) Disconnect();
   }
   else if(f[0] == "BYE") { Print("tapedeck: gateway closed the session: ", line); Disconnect(); }
   else Print("tapedeck: unknown line from the gateway: ", StringSubstr(line, 0, 80));
}

void ReadSocket()
{
   if(g_sock == INVALID_HANDLE) return;
   if(!SocketIsConnected(g_sock)) { Print("tapedeck: connection lost"); Disconnect(); return; }
   uint avail = SocketIsReadable(g_sock);
   while(avail > 0 && g_sock != INVALID_HANDLE)
   {
      uchar buf[];
      int got = SocketRead(g_sock, buf, avail, 100);
      if(got <= 0) break;
      g_rx += CharArrayToString(buf, 0, got, CP_UTF8);
      int nl;
      while(g_sock != INVALID_HANDLE && (nl = StringFind(g_rx, "\n")) >= 0)
      {
         string line = StringSubstr(g_rx, 0, nl);
         g_rx = StringSubstr(g_rx, nl + 1);
         StringReplace(line, "\r", "");
         HandleLine(line);
      }
      if(g_sock == INVALID_HANDLE) break;
      avail = SocketIsReadable(g_sock);
   }
}

//--- the EA's events ----------------------------------------------------

int OnInit()
{
   if(GatewayToken == "") { Print("tapedeck: GatewayToken is empty (it must equal gateway.token)"); return INIT_PARAMETERS_INCORRECT; }
   string list[];
   int n = StringSplit(Symbols, ',', list);
   ArrayResize(g_sym, 0);
   for(int i = 0; i < n; i++)
   {
      string s = list[i];
      StringTrimLeft(s); StringTrimRight(s);
      if(s == "") continue;
      if(!SymbolSelect(s, true)) { Print("tapedeck: unknown symbol ", s); return INIT_PARAMETERS_INCORRECT; }
      int k = ArraySize(g_sym); ArrayResize(g_sym, k + 1); g_sym[k] = s;
   }
   int k = ArraySize(g_sym);
   ArrayResize(g_last_msc, k); ArrayResize(g_last_n, k); ArrayResize(g_spec, k);
   for(int i = 0; i < k; i++) { g_last_msc[i] = 0; g_last_n[i] = 0; g_spec[i] = ""; }
   g_dir = "tapedeck\\" + IntegerToString(AccountInfoInteger(ACCOUNT_LOGIN)) + "\\";
   FolderCreate("tapedeck");
   FolderCreate(g_dir);
   LoadState();
   Print("tapedeck: ", k, " symbol(s), last sequence number ", g_seq, ", ", ArraySize(g_outbox), " line(s) not acknowledged");
   EventSetMillisecondTimer(TimerMs);
   return INIT_SUCCEEDED;
}

void OnDeinit(const int reason)
{
   EventKillTimer();
   SaveTicks();
   if(g_sock != INVALID_HANDLE) SocketClose(g_sock);
   g_sock = INVALID_HANDLE;
}

void OnTimer()
{
   if(g_sock == INVALID_HANDLE) Connect();
   ReadSocket();
   for(int i = 0; i < ArraySize(g_sym); i++) PollTicks(i);
   if(g_welcomed)
   {
      if(TimeLocal() - g_last_spec_check >= SpecCheckSec) CheckSpecs();
      if(TimeLocal() - g_last_account >= AccountSec) SendAccount();
      if(TimeLocal() - g_last_heartbeat >= HeartbeatSec)
      {
         Emit("HEARTBEAT", "time=" + IntegerToString(NowUtcMsc()));
         g_last_heartbeat = TimeLocal();
      }
   }
}

// Every deal of ours becomes an EXEC line: entries carry the intent id (the order comment); exits
// by stop-loss or take-profit carry none.
void OnTradeTransaction(const MqlTradeTransaction &trans, const MqlTradeRequest &request, const MqlTradeResult &result)
{
   if(trans.type != TRADE_TRANSACTION_DEAL_ADD) return;
   if(!HistoryDealSelect(trans.deal)) return;
   if(HistoryDealGetInteger(trans.deal, DEAL_MAGIC) != Magic) return;
   string sym = HistoryDealGetString(trans.deal, DEAL_SYMBOL);
   long type = HistoryDealGetInteger(trans.deal, DEAL_TYPE);
   if(type != DEAL_TYPE_BUY && type != DEAL_TYPE_SELL) return;
   ulong order = (ulong)HistoryDealGetInteger(trans.deal, DEAL_ORDER);
   string intent = "";
   if(HistoryOrderSelect(order)) intent = HistoryOrderGetString(order, ORDER_COMMENT);
   if(StringFind(intent, "[") == 0) intent = "";  // the server's "[sl ...]"/"[tp ...]" comment
   int digits = (int)SymbolInfoInteger(sym, SYMBOL_DIGITS);
   string body = "symbol=" + sym +
                 "\ttime=" + IntegerToString(ServerMscToUtc(HistoryDealGetInteger(trans.deal, DEAL_TIME_MSC))) +
                 (intent != "" ? "\tintent=" + intent : "") +
                 "\tdeal=" + IntegerToString((long)trans.deal) + "\torder=" + IntegerToString((long)order) +
                 "\tposition=" + IntegerToString(HistoryDealGetInteger(trans.deal, DEAL_POSITION_ID)) +
                 "\tside=" + (type == DEAL_TYPE_BUY ? "buy" : "sell") +
                 "\tprice=" + Dec(HistoryDealGetDouble(trans.deal, DEAL_PRICE), digits) +
                 "\tvolume=" + Dec(HistoryDealGetDouble(trans.deal, DEAL_VOLUME), 8) +
                 "\tcommission=" + Dec(HistoryDealGetDouble(trans.deal, DEAL_COMMISSION), 2) +
                 "\tswap=" + Dec(HistoryDealGetDouble(trans.deal, DEAL_SWAP), 2) +
                 "\tprofit=" + Dec(HistoryDealGetDouble(trans.deal, DEAL_PROFIT), 2) +
                 "\tstatus=filled";
   Emit("EXEC", body);
   SendAccount();
}
//+------------------------------------------------------------------+
