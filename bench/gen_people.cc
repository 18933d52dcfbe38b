// idsync-bench-gen: writes a synthetic HR export for the benchmark.
//
//   idsync-bench-gen N DIR
// writes DIR/hr.csv (N people and their department groups, one file with a
// `type` column) and DIR/hr-delta.csv (the same export a day later: 1% new
// hires, 1% leavers, 5% changed people). Output is deterministic.
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr const char* kGiven[] = {"Ada", "Grace", "Alan", "Katherine", "Edsger", "Barbara", "Donald", "Frances",
                                  "John", "Margaret", "Dennis", "Radia", "Ken", "Hedy", "Claude", "Sophie",
                                  "Tim", "Mary", "Linus", "Annie"};
constexpr const char* kSurname[] = {"Lovelace", "Hopper", "Turing", "Johnson", "Dijkstra", "Liskov", "Knuth",
                                    "Allen", "McCarthy", "Hamilton", "Ritchie", "Perlman", "Thompson", "Lamarr",
                                    "Shannon", "Wilson", "Berners-Lee", "Keller", "Torvalds", "Easley"};
constexpr const char* kTitles[] = {"Engineer", "Senior Engineer", "Analyst", "Manager", "Director", "Designer",
                                   "Accountant", "Recruiter", "Support Specialist", "Researcher"};
constexpr int kPeoplePerDepartment = 50;

struct Person {
  long id;
  int given, surname, title, department;
  long manager;  // 0: none
  int hire_year, hire_month, hire_day;
};

void WritePerson(std::FILE* f, const Person& p) {
  std::fprintf(f, "person,%ld,%s,%s,%s,dept-%04d,%s,%04d-%02d-%02d,active,\n", p.id, kGiven[p.given],
               kSurname[p.surname], kTitles[p.title], p.department,
               p.manager ? std::to_string(p.manager).c_str() : "", p.hire_year, p.hire_month, p.hire_day);
}

void WriteFile(const std::string& path, const std::vector<Person>& people, int departments) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) {
    std::perror(path.c_str());
    std::exit(1);
  }
  std::fprintf(f, "type,id,givenName,sn,title,department,manager,hireDate,status,member\n");
  std::vector<std::string> members(departments);
  for (const auto& p : people) {
    WritePerson(f, p);
    auto& m = members[p.department];
    if (!m.empty()) m += ';';
    m += std::to_string(p.id);
  }
  for (int d = 0; d < departments; ++d)
    std::fprintf(f, "group,dept-%04d,,,,,,,,%s\n", d, members[d].c_str());
  std::fclose(f);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: idsync-bench-gen N DIR\n");
    return 2;
  }
  long n = std::atol(argv[1]);
  std::string dir = argv[2];
  if (n < 100) {
    std::fprintf(stderr, "idsync-bench-gen: N must be at least 100\n");
    return 2;
  }
  std::mt19937_64 rng(42);
  int departments = static_cast<int>((n + kPeoplePerDepartment - 1) / kPeoplePerDepartment);
  std::vector<Person> people;
  people.reserve(n + n / 100);
  auto make = [&](long id) {
    Person p;
    p.id = id;
    p.given = rng() % std::size(kGiven);
    p.surname = rng() % std::size(kSurname);
    p.title = rng() % std::size(kTitles);
    p.department = static_cast<int>((id - 100000) / kPeoplePerDepartment) % departments;
    // The first person of a department manages it; managers report to person 1.
    long head = 100000 + static_cast<long>(p.department) * kPeoplePerDepartment;
    p.manager = id == head ? (id == 100000 ? 0 : 100000) : head;
    p.hire_year = 2000 + rng() % 26;
    p.hire_month = 1 + rng() % 12;
    p.hire_day = 1 + rng() % 28;
    return p;
  };
  for (long i = 0; i < n; ++i) people.push_back(make(100000 + i));
  WriteFile(dir + "/hr.csv", people, departments);

  // A day later: 5% changed, 1% gone (never a department head), 1% new.
  std::vector<Person> next;
  next.reserve(people.size() + n / 100);
  for (size_t i = 0; i < people.size(); ++i) {
    Person p = people[i];
    bool head = (p.id - 100000) % kPeoplePerDepartment == 0;
    if (i % 100 == 37 && !head) continue;
    if (i % 20 == 11) p.title = (p.title + 1) % std::size(kTitles);
    next.push_back(p);
  }
  for (long i = 0; i < n / 100; ++i) next.push_back(make(100000 + n + i));
  WriteFile(dir + "/hr-delta.csv", next, departments);
  return 0;
}
